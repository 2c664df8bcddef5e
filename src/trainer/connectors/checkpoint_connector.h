#pragma once
// What a checkpoint holds and how a run comes back from one: the trainer's side of checkpoint/.

#include <lightning/callbacks/callback.h>
#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/core/collectives.h>
#include <lightning/core/module.h>
#include <lightning/core/optimizer_config.h>
#include <lightning/core/trainer_view.h>
#include <lightning/diagnostics/diagnostic.h>
#include <lightning/precision/grad_scaler.h>

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

namespace lightning::detail {

/// Where fit stands inside its epochs: what a checkpoint records so a resumed run continues with
/// the next batch. Each field is updated before the hooks that may save a checkpoint run.
struct FitProgress {
  /// Batches of the current epoch fully processed (optimizer and schedulers stepped).
  int64_t batches_done_in_epoch = 0;
  /// on_train_epoch_end has begun: a resumed run starts the next epoch.
  bool epoch_finished = false;
  /// Batches processed in all epochs (validation counts them when check_val_every_n_epoch is unset).
  int64_t total_batches_done = 0;
  /// Batches after which the optimizer stepped (Lightning's `_batches_that_stepped`): the step
  /// number the loggers see.
  int64_t batches_that_stepped = 0;
};

/// What a checkpoint of a fit saves and restores.
struct CheckpointParts {
  LightningModule& module;
  TrainerState& state;
  FitProgress& progress;
  OptimizerConfig& optimizer_config;
  const std::vector<std::shared_ptr<Callback>>& callbacks;
  /// The precision's state ("16-mixed"'s loss scaler, Lightning's "MixedPrecision"); null when none.
  GradScaler* scaler = nullptr;
};

/// Lightning's checkpoint of the running fit: epoch, global_step, state_dict, loops, hyper_parameters,
/// lightning_cpp_version; unless `weights_only`, also optimizer_states, lr_schedulers, callbacks,
/// rng_states and the precision's state. Calls no hook: the caller calls on_save_checkpoint.
Checkpoint dump_checkpoint(const CheckpointParts& parts, bool weights_only);

/// The file `ckpt_path` names: a path, "last" (the newest last*.ckpt of the ModelCheckpoint
/// callbacks) or "best" (their best_model_path). Throws MisconfigurationException (LC0404) when
/// "last" or "best" finds nothing, except that a fit (`fresh_start_warnings` given) starts afresh
/// when "last" finds nothing, as in Lightning, so that a job requeued with `ckpt_path: last` works
/// before its first save: LC0407 goes to `fresh_start_warnings` and the path is empty.
/// `callbacks` are searched for ModelCheckpoint; in a distributed run (`collectives` given) every
/// rank takes rank 0's answer.
std::filesystem::path resolve_ckpt_path(const std::string& ckpt_path, const std::vector<std::shared_ptr<Callback>>& callbacks,
                                        const TrainerView& view, Collectives* collectives,
                                        DiagnosticCollector* fresh_start_warnings = nullptr);

/// LC0408 (a warning) when a newer lightning-cpp than this one wrote `checkpoint`: what it holds
/// may mean something this version does not know.
void check_writer_version(const Checkpoint& checkpoint, const std::string& path, DiagnosticCollector& problems);

/// Loads the weights (LC0401-LC0403 as MisconfigurationException).
void restore_module(LightningModule& module, const Checkpoint& checkpoint, const std::string& path);

/// The value at `path` of nested dictionaries from `root` (checkpoint["loops"]["fit_loop"]...),
/// None where a key is missing or a value on the way is no dictionary.
c10::IValue entry_at(const c10::IValue& root, std::initializer_list<std::string_view> path);

/// Whether PyTorch Lightning's Trainer wrote `checkpoint` ("pytorch-lightning_version").
bool written_by_pytorch_lightning(const Checkpoint& checkpoint);

/// Puts the training state of a checkpoint PyTorch Lightning 2.x wrote into lightning-cpp's layout,
/// so that a fit begun in Python resumes here: its loops' progress, PyTorch's scheduler states,
/// the callbacks' state keys and scores. Changes nothing in other checkpoints, nor in one whose
/// loops lack what it needs (pytorch_lightning_layout_problems names it).
void adopt_pytorch_lightning_layout(Checkpoint& checkpoint);

/// The progress fields of a PyTorch Lightning checkpoint that are missing or of another type.
std::vector<std::string> pytorch_lightning_layout_problems(const Checkpoint& checkpoint);

/// Whether `checkpoint` can resume a fit: it has optimizer and scheduler states and loop progress
/// (LC0405), in the layout lightning-cpp writes or adopted (LC0406: another layout, such as that
/// of PyTorch Lightning 1.x, or fields of other types). Adds what it finds to `problems`.
void check_resumable(const Checkpoint& checkpoint, const std::string& path, DiagnosticCollector& problems);

/// Loads the optimizers' and schedulers' states (of a checkpoint check_resumable accepted) into
/// those of configure_optimizers; adds LC0405 to `problems` when they do not fit.
void restore_optimizers(OptimizerConfig& optimizer_config, const Checkpoint& checkpoint, const std::string& path,
                        DiagnosticCollector& problems);

/// Loads the loops' progress, the callbacks' states, the precision's state and the random
/// generators: the last step before fit's loops start, then the caller calls on_load_checkpoint.
void restore_training_state(const CheckpointParts& parts, const Checkpoint& checkpoint);

}  // namespace lightning::detail
