#pragma once
// Diagnostics that the loops and the probe raise alike.

#include <lightning/core/lr_scheduler.h>
#include <lightning/core/optimizer_config.h>
#include <lightning/diagnostics/diagnostic.h>

#include <string>
#include <string_view>
#include <vector>

namespace lightning::detail {

/// The module does not define `step` ("training_step", "validation_step", "test_step",
/// "predict_step"), which `entry` ("fit", "validate", ...) needs: LC0301, LC0303, LC0304, LC0305.
Diagnostic missing_step(std::string_view step, std::string_view entry);

/// A scheduler's `monitor` names no logged key (LC0314); `available` lists the logged keys.
Diagnostic unlogged_monitor(const LRScheduler& scheduler, const SchedulerOptions& options,
                            const std::vector<std::string>& available);

}  // namespace lightning::detail
