#pragma once
// Checks made at the start of fit, validate, test and predict, before any step (stage 2).

#include <lightning/core/module.h>
#include <lightning/core/optimizer_config.h>
#include <lightning/data/dataloader.h>
#include <lightning/diagnostics/diagnostic.h>

#include "trainer/connectors/settings.h"

#include <string>
#include <vector>

namespace lightning::detail {

/// Problems of one loader: batch_size, num_workers, prefetch_factor, and whether it yields a
/// batch at all. `role` names it as the user passed it ("train_dataloaders", "val_dataloaders[1]").
void check_dataloader(DiagnosticCollector& problems, const DataLoader& loader, const std::string& role);

/// Problems of what configure_optimizers returned for `module`, given how it optimizes.
void check_optimizer_config(DiagnosticCollector& problems, const OptimizerConfig& config,
                            const LightningModule& module, const Settings& settings);

/// A fit with `num_training_batches` batches per epoch can honour the validation interval.
void check_val_check_interval(DiagnosticCollector& problems, const Settings& settings,
                              int64_t num_training_batches, bool has_validation);

}  // namespace lightning::detail
