#pragma once
// Stage 3 of the diagnostics engine: one training batch (forward, loss, backward, no optimizer
// step, then the module's on_train_epoch_end) and one batch of each validation loader (then the
// module's on_validation_epoch_end), run before training to learn what the module logs and
// whether its batches fit it. The probe leaves no trace: parameters, buffers, gradients,
// the random generators, the module's mode and the trainer's metrics are as they were.

#include <lightning/data/dataloader.h>
#include <lightning/diagnostics/diagnostic.h>

#include "loops/loop_context.h"

#include <set>
#include <string>
#include <vector>

namespace lightning::detail {

struct ProbeReport {
  /// Every key the probed steps logged, in each form callbacks can monitor ("loss", "loss_step",
  /// "loss_epoch", "val_loss/dataloader_idx_1").
  std::set<std::string> logged_keys;
  /// Keys logged on epoch level without sync_dist.
  std::set<std::string> unsynced_epoch_keys;
};

/// In a distributed run, epoch-level keys logged without sync_dist (LC0343, a warning): each rank
/// would monitor, checkpoint and stop by its own share of the data.
void check_sync_dist(const ProbeReport& report, int world_size, DiagnosticCollector& problems);

ProbeReport probe_fit(LoopContext& context, DataLoader& train, std::vector<DataLoader>& val,
                      DiagnosticCollector& problems);

/// Every scheduler's monitor is among the keys the module logs.
void check_monitors(const OptimizerConfig& config, const std::set<std::string>& logged_keys,
                    DiagnosticCollector& problems);

}  // namespace lightning::detail
