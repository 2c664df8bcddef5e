#pragma once

namespace lightning::cli {

/// Registers Adam, AdamW, SGD, RMSprop, Adagrad and the schedulers of core/lr_scheduler.h.
void register_optimizers_and_schedulers();

}  // namespace lightning::cli
