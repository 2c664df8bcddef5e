#pragma once

#include <lightning/core/module.h>
#include <lightning/data/dataloader.h>

#include "loops/loop_context.h"

#include <cstdint>
#include <vector>

namespace lightning::detail {

/// The kind of evaluation, which names the hooks and steps used.
enum class EvaluationKind { kValidation, kTest };

/// One pass over evaluation loaders; returns each loader's epoch metrics. `limits` gives each
/// loader's batch count. During fit's sanity check nothing reaches callback metrics or loggers.
std::vector<Metrics> run_evaluation(LoopContext& context, EvaluationKind kind, std::vector<DataLoader>& loaders,
                                    const std::vector<int64_t>& limits);

/// One pass over prediction loaders; one output per batch, per loader.
std::vector<std::vector<Batch>> run_prediction(LoopContext& context, std::vector<DataLoader>& loaders,
                                               const std::vector<int64_t>& limits);

}  // namespace lightning::detail
