#pragma once

#include <lightning/callbacks/callback.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lightning {

/// Options of ModelCheckpoint, with Lightning's names and defaults.
struct ModelCheckpointOptions {
  /// Folder of the files; "" means `<log_dir>/checkpoints` (the first logger's folder), or
  /// `<default_root_dir>/checkpoints` without loggers.
  std::string dirpath = "";
  /// File name template without ".ckpt": "{epoch}-{val_loss:.2f}" renders as
  /// "epoch=3-val_loss=0.27" (format specs as in Python). "" means "{epoch}-{step}".
  std::string filename = "";
  /// The logged metric that ranks checkpoints; "" keeps the latest ones.
  std::string monitor = "";
  /// Print a line when a checkpoint is saved.
  bool verbose = false;
  /// Also keep `last.ckpt`, the most recent checkpoint.
  bool save_last = false;
  /// Keep the k best checkpoints by `monitor` (-1: all, 0: none).
  int64_t save_top_k = 1;
  bool save_weights_only = false;
  /// "min" or "max": whether a lower or a higher `monitor` is better.
  std::string mode = "min";
  /// Writes "epoch=3" for "{epoch}" in `filename`; false writes "3".
  bool auto_insert_metric_name = true;
  /// Save every n optimizer steps (0: not by steps).
  int64_t every_n_train_steps = 0;
  /// Save every n epochs; unset means 1 unless `every_n_train_steps` is set.
  std::optional<int64_t> every_n_epochs = std::nullopt;
  /// Save at the end of the training epoch instead of after validation; unset decides as Lightning.
  std::optional<bool> save_on_train_epoch_end = std::nullopt;
  /// Append "-v1", "-v2" to a name that exists already, instead of overwriting it.
  bool enable_version_counter = true;
};

/// Saves checkpoints during fit and keeps the best k by a monitored metric (Lightning's
/// ModelCheckpoint).
///
///   auto checkpoint = std::make_shared<pl::ModelCheckpoint>(pl::ModelCheckpointOptions{
///       .filename = "{epoch}-{val_loss:.2f}", .monitor = "val_loss", .save_last = true});
///   pl::Trainer trainer({.callbacks = {checkpoint}});
///   trainer.fit(model, train, val);
///   checkpoint->best_model_path();
///
/// Throws MisconfigurationException from the constructor for invalid options (LC0501-LC0506);
/// fit reports a monitor the module never logs and an unusable folder before its first step.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(ModelCheckpointOptions options = {});

  /// The file of the best checkpoint so far ("" before the first one).
  const std::string& best_model_path() const { return best_model_path_; }
  /// Its monitored value (unset without a monitor).
  std::optional<double> best_model_score() const { return best_model_score_; }
  /// The files kept, with their monitored values.
  const std::map<std::string, double>& best_k_models() const { return best_k_models_; }
  const std::string& last_model_path() const { return last_model_path_; }
  /// The folder in use (resolved when fit starts).
  const std::string& dirpath() const { return dirpath_; }
  const ModelCheckpointOptions& options() const { return options_; }

  /// The file name `filename` renders to for these metrics, with ".ckpt" (Lightning's
  /// `format_checkpoint_name`); absent metrics render as 0.
  std::string format_checkpoint_name(const std::map<std::string, double>& metrics) const;
  /// The folder a run of `trainer` saves to.
  std::string resolve_dirpath(const TrainerView& trainer) const;

  std::string state_key() const override;
  /// Monitors what the module logs in its on_train_epoch_end, so runs after it.
  bool runs_after_module_epoch_end() const override { return true; }
  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;
  void preflight(const TrainerView& trainer, const std::set<std::string>& logged_keys,
                 DiagnosticCollector& problems) const override;

  void setup(const TrainerView& trainer, LightningModule& module, const std::string& stage) override;
  void on_train_batch_end(const TrainerView& trainer, LightningModule& module, const StepOutput& outputs,
                          const Batch& batch, int64_t batch_idx) override;
  void on_train_epoch_end(const TrainerView& trainer, LightningModule& module) override;
  void on_validation_end(const TrainerView& trainer, LightningModule& module) override;
  /// Resuming from a file whose save a kill interrupted (between last.ckpt and the top-k file, or
  /// before the files it replaced were removed), finishes that save.
  void on_load_checkpoint(const TrainerView& trainer, LightningModule& module, const Checkpoint& checkpoint) override;

 private:
  bool should_skip(const TrainerView& trainer) const;
  bool save_on_train_epoch_end(const TrainerView& trainer) const;
  void save_at_epoch(const TrainerView& trainer);
  /// One save: the top-k file (when `rank_top_k` and the score ranks) and last.ckpt, then the
  /// removal of the files they replace.
  void save_files(const TrainerView& trainer, bool rank_top_k);
  /// The top-k file this save writes ("" when its score does not rank), entered in the ranking; the
  /// file it pushes out goes to `replaced`.
  std::string rank_in_top_k(const std::map<std::string, double>& candidates, std::vector<std::string>& replaced);
  void finish_interrupted_save(const TrainerView& trainer);
  std::string new_file_path(const std::string& name, const std::string& replaceable) const;
  void save(const TrainerView& trainer, const std::string& path);
  bool better(double current, double reference) const;

  ModelCheckpointOptions options_;
  int64_t every_n_epochs_ = 1;
  std::string dirpath_;
  std::map<std::string, double> best_k_models_;
  std::string kth_best_model_path_;
  std::optional<double> kth_value_;
  std::string best_model_path_;
  std::optional<double> best_model_score_;
  std::string last_model_path_;
  int64_t last_global_step_saved_ = -1;
  /// The latest save's top-k file when it was written as a second name of last.ckpt, and the files
  /// that save replaced (in the state, so that a resume can finish an interrupted save).
  std::string saved_with_last_;
  std::vector<std::string> replaced_by_last_save_;
  /// The same, read from the checkpoint being resumed, until on_load_checkpoint acts on them.
  std::string restored_saved_with_last_;
  int64_t restored_saved_at_step_ = -1;
  std::vector<std::string> restored_replaced_;
};

}  // namespace lightning
