#pragma once
// Turning TrainerOptions into settings with nothing left unset (the first of the two phases of
// docs/architecture.md), and the checks of the options on their own.

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/trainer/trainer_options.h>

#include "strategies/strategy.h"
#include "trainer/connectors/accelerator_connector.h"

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lightning::detail {

struct Settings {
  /// Accelerator, devices, strategy and this process's rank.
  ResolvedDevices hardware;
  int64_t max_epochs = 1000;  ///< -1: no limit
  int64_t min_epochs = 0;
  int64_t max_steps = -1;     ///< -1: no limit
  int64_t min_steps = 0;
  CountOrFraction limit_train_batches = 1.0;
  CountOrFraction limit_val_batches = 1.0;
  CountOrFraction limit_test_batches = 1.0;
  CountOrFraction limit_predict_batches = 1.0;
  CountOrFraction val_check_interval = 1.0;
  std::optional<int64_t> check_val_every_n_epoch = 1;
  int64_t num_sanity_val_steps = 2;  ///< -1: all
  int64_t accumulate_grad_batches = 1;
  int64_t log_every_n_steps = 50;
  bool loggers_enabled = true;
  bool deterministic = false;
  bool fast_dev_run = false;
  std::string default_root_dir = ".";
  /// Precision and clipping: how a step runs (src/strategies/strategy.h).
  StrategySettings strategy;
};

/// Every problem of the options taken alone (stage 1 of the diagnostics engine), but for the
/// hardware ones, which resolve_devices finds.
void check_options(const TrainerOptions& options, DiagnosticCollector& problems);

/// Precedence: fast_dev_run overrides the limits, max_epochs/max_steps, sanity steps, validation
/// interval and loggers; otherwise an unset max_epochs is 1000 when max_steps is -1 and unlimited
/// when max_steps is set; every other option is taken as given.
Settings resolve_settings(const TrainerOptions& options, const ResolvedDevices& hardware = {});

/// How many batches of a loader with `available` batches a limit allows.
int64_t limited_batches(const CountOrFraction& limit, int64_t available);

}  // namespace lightning::detail
