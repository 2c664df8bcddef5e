#pragma once
// From a checked Config to the objects of a run: Trainer, model, data; and back to the effective
// config (every default filled in) that `--print_config` prints and a run saves.

#include <lightning/cli/registry.h>
#include <lightning/trainer/trainer.h>

#include "cli/config.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lightning::cli {

/// The config key an object was built from, so that its diagnostics point into the file.
struct Origin {
  std::string class_name;  ///< "Trainer", "ModelCheckpoint", ...
  std::string key;         ///< "trainer", "trainer.callbacks[0]", "model", ...
  /// Its position in the list it was given in (the Trainer's callbacks, its loggers).
  std::optional<std::size_t> index = std::nullopt;
};

struct Run {
  std::unique_ptr<Trainer> trainer;
  std::shared_ptr<LightningModule> model;
  std::shared_ptr<DataModule> data;
  std::string ckpt_path;
  /// The seed to start from; nullopt leaves the generators alone (`seed_everything: false`).
  std::optional<int64_t> seed;
  std::vector<Origin> origins;
};

/// The Trainer's options as config keys (all but `callbacks` and `logger`).
const std::vector<Argument<TrainerOptions>>& trainer_arguments();

/// Checks every key of `config` and builds what it describes; every problem found (unknown keys and
/// classes, wrong types, missing arguments, and what the classes' own checks reject) goes to
/// `problems` with its location. Replaces `seed_everything: true` by the seed it draws.
/// `extra_callbacks` run after the config's own (the CLI's SaveConfigCallback).
Run build_run(Config& config, DiagnosticCollector& problems, std::vector<std::shared_ptr<Callback>> extra_callbacks = {});

/// `config` with every default filled in: what `--print_config` prints and `config.yaml` holds.
YAML::Node effective_config(const Config& config);

/// Points each diagnostic whose subject is an option of a class built from the config
/// (`{"ModelCheckpoint", {"monitor"}, 1}`) at the config key and file location that set it.
void relocate(std::vector<Diagnostic>& diagnostics, const Config& config, const std::vector<Origin>& origins);

}  // namespace lightning::cli
