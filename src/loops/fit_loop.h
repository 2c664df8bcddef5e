#pragma once

#include <lightning/data/dataloader.h>

#include "loops/loop_context.h"

#include <vector>

namespace lightning::detail {

/// fit's loops: sanity check, epochs of training batches, validation at its interval.
void run_fit(LoopContext& context, DataLoader& train, std::vector<DataLoader>& val);

}  // namespace lightning::detail
