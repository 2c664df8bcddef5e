#pragma once
// The callbacks and loggers a Trainer runs with: the user's, plus the defaults that `logger = true`
// and the `enable_*` options add, as Lightning adds them.

#include <lightning/callbacks/callback.h>
#include <lightning/diagnostics/diagnostic.h>
#include <lightning/loggers/logger.h>
#include <lightning/trainer/trainer_options.h>

#include "trainer/connectors/settings.h"

#include <memory>
#include <vector>

namespace lightning::detail {

/// The user's callbacks in order, then a ProgressBar and a ModelSummary when enabled and not given,
/// then the ModelCheckpoint callbacks (a default one when checkpointing is enabled and none is
/// given): checkpoints run last so they see what the others logged. Adds LC0121 (a callback that
/// a disabled `enable_*` option contradicts) and LC0509 (two callbacks sharing a state key) to
/// `problems`.
std::vector<std::shared_ptr<Callback>> configure_callbacks(const TrainerOptions& options, DiagnosticCollector& problems);

/// The loggers given, or with `logger = true` and none given a TensorBoardLogger and a CSVLogger
/// sharing `<default_root_dir>/lightning_logs/version_<N>`; none when the resolved settings
/// disable them (`logger = false`, fast_dev_run).
std::vector<std::shared_ptr<Logger>> configure_loggers(const TrainerOptions& options, const Settings& settings);

}  // namespace lightning::detail
