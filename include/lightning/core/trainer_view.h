#pragma once

#include <lightning/core/collectives.h>
#include <lightning/core/optimizer_config.h>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lightning {

/// What `on_exception` receives when SIGTERM or SIGINT stopped fit at a batch boundary. Fit then
/// returns normally; `TrainerView::received_signal()` says which signal it was.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, int64_t global_step);
  int signal() const { return signal_; }

 private:
  int signal_;
};

/// What the trainer is doing; Lightning's `trainer.state.stage`.
enum class Stage { kNone, kFit, kSanityCheck, kValidate, kTest, kPredict };

/// What callbacks may ask of a running trainer, beyond its state: the trainer implements it for
/// the length of each run.
class TrainerActions {
 public:
  virtual ~TrainerActions() = default;
  /// Writes a checkpoint of the run to `filepath` (atomically); only the weights when `weights_only`.
  virtual void save_checkpoint(const std::string& filepath, bool weights_only) = 0;
  /// Sends metrics to the loggers (rank zero) at the current logging step.
  virtual void log_metrics(const std::map<std::string, double>& metrics) = 0;
  /// Whether the coming optimizer step is one the loggers record (every `log_every_n_steps`).
  virtual bool should_update_logs() const = 0;
};

/// What a trainer is, fixed when it is built from its resolved settings (a fast_dev_run's
/// overrides included): Lightning's `trainer.*` properties that no run changes.
struct TrainerFacts {
  int global_rank = 0;
  int world_size = 1;
  int64_t max_epochs = -1;  ///< -1: no limit
  int64_t max_steps = -1;   ///< -1: no limit
  int64_t accumulate_grad_batches = 1;
  std::string default_root_dir = ".";
  /// The first logger's folder, or default_root_dir without loggers (Lightning's `trainer.log_dir`).
  std::string log_dir = ".";
  /// Names of the loggers of this trainer, in order (empty without loggers).
  std::vector<std::string> logger_names;
  bool fast_dev_run = false;
  /// Validation every this many epochs; unset when it counts batches across epochs.
  std::optional<int64_t> check_val_every_n_epoch = 1;
  /// `val_check_interval` is 1.0: validation runs once, at the end of each (validated) epoch.
  bool val_check_interval_is_one_epoch = true;
};

/// The trainer's progress and results, written by the trainer's loops and read through TrainerView.
struct TrainerState {
  Stage stage = Stage::kNone;
  bool training = false;  ///< inside the training part of fit (not an evaluation)
  int64_t current_epoch = 0;
  int64_t global_step = 0;
  int64_t num_training_batches = 0;
  std::vector<int64_t> num_val_batches;
  std::vector<int64_t> num_test_batches;
  std::vector<int64_t> num_predict_batches;
  /// While predicting: the dataset indices of the batch being predicted.
  std::vector<int64_t> current_batch_indices;
  bool should_stop = false;
  bool sanity_checking = false;
  bool probing = false;  ///< the diagnostics probe runs a step that leaves no trace
  /// The optimizers and schedulers of the running fit; null outside fit.
  const OptimizerConfig* optimizer_config = nullptr;
  TrainerActions* actions = nullptr;
  /// The process group of a distributed run; null in a single process.
  Collectives* collectives = nullptr;
  /// The checkpoint file the running stage resumed from or evaluates (Lightning's
  /// `trainer.ckpt_path`); empty when none.
  std::string ckpt_path;
  /// The signal (SIGTERM, SIGINT) that stopped the last fit at a batch boundary; 0 when none did.
  int received_signal = 0;
  /// Last values of everything logged: Lightning's `callback_metrics`.
  std::map<std::string, double> callback_metrics;
  /// What was sent to the loggers last.
  std::map<std::string, double> logged_metrics;
  /// Metrics logged with `prog_bar = true`.
  std::map<std::string, double> progress_bar_metrics;
};

/// The read-only face of the trainer that modules and callbacks see (Lightning's `trainer.*`
/// properties), plus the one thing they may ask for: to stop.
class TrainerView {
 public:
  TrainerView(const TrainerFacts& facts, TrainerState& state) : facts_(&facts), state_(&state) {}

  Stage stage() const { return state_->stage; }
  bool training() const { return state_->training; }
  bool sanity_checking() const { return state_->sanity_checking; }
  /// True while the diagnostics probe runs a step before training (its effects are undone).
  bool probing() const { return state_->probing; }
  int64_t current_epoch() const { return state_->current_epoch; }
  int64_t global_step() const { return state_->global_step; }
  int64_t max_epochs() const { return facts_->max_epochs; }
  int64_t max_steps() const { return facts_->max_steps; }
  int64_t num_training_batches() const { return state_->num_training_batches; }
  const std::vector<int64_t>& num_val_batches() const { return state_->num_val_batches; }
  const std::vector<int64_t>& num_test_batches() const { return state_->num_test_batches; }
  const std::vector<int64_t>& num_predict_batches() const { return state_->num_predict_batches; }
  /// While predicting, the dataset indices of the batch being predicted (Lightning's
  /// `trainer.predict_loop.current_batch_indices`): the sampler's, so a distributed run's
  /// predictions can be put back in the dataset's order.
  const std::vector<int64_t>& current_batch_indices() const { return state_->current_batch_indices; }
  int64_t accumulate_grad_batches() const { return facts_->accumulate_grad_batches; }
  int global_rank() const { return facts_->global_rank; }
  int world_size() const { return facts_->world_size; }
  bool is_global_zero() const { return facts_->global_rank == 0; }
  const std::string& default_root_dir() const { return facts_->default_root_dir; }
  const std::string& log_dir() const { return facts_->log_dir; }
  /// The checkpoint file the running stage resumed from (fit) or evaluates; empty when none.
  const std::string& ckpt_path() const { return state_->ckpt_path; }
  const std::vector<std::string>& logger_names() const { return facts_->logger_names; }
  bool fast_dev_run() const { return facts_->fast_dev_run; }
  std::optional<int64_t> check_val_every_n_epoch() const { return facts_->check_val_every_n_epoch; }
  bool val_check_interval_is_one_epoch() const { return facts_->val_check_interval_is_one_epoch; }
  /// The optimizers and schedulers of the running fit (Lightning's `trainer.optimizers` and
  /// `trainer.lr_scheduler_configs`); empty outside fit.
  std::vector<torch::optim::Optimizer*> optimizers() const;
  const std::vector<SchedulerConfig>& lr_scheduler_configs() const;
  const std::map<std::string, double>& callback_metrics() const { return state_->callback_metrics; }
  const std::map<std::string, double>& logged_metrics() const { return state_->logged_metrics; }
  const std::map<std::string, double>& progress_bar_metrics() const {
    return state_->progress_bar_metrics;
  }
  bool should_stop() const { return state_->should_stop; }
  /// Asks the trainer to stop at the next point Lightning would (EarlyStopping does this).
  void request_stop() const { state_->should_stop = true; }
  /// Saves a checkpoint of the running trainer (Lightning's `trainer.save_checkpoint`). Throws
  /// std::logic_error outside a run.
  void save_checkpoint(const std::string& filepath, bool weights_only = false) const;
  /// Sends metrics straight to the loggers at the current step (what LearningRateMonitor does);
  /// does nothing without loggers or outside a run.
  void log_metrics(const std::map<std::string, double>& metrics) const;
  /// Whether the coming optimizer step is one the loggers record (Lightning's `should_update_logs`).
  bool should_update_logs() const { return state_->actions != nullptr && state_->actions->should_update_logs(); }
  /// Waits until every rank gets here (Lightning's `trainer.strategy.barrier()`); returns at once
  /// in a single process.
  void barrier() const;
  /// Every rank's `tensor` stacked along a new first dimension in rank order (Lightning's
  /// `all_gather`); in a single process, `tensor` with a first dimension of 1.
  at::Tensor all_gather(const at::Tensor& tensor) const;
  /// `tensor` combined over the ranks (sum, mean, max or min); itself in a single process.
  at::Tensor all_reduce(const at::Tensor& tensor, ReduceOp op = ReduceOp::kMean) const;
  /// The signal that stopped the last fit (SIGTERM, SIGINT), or 0.
  int received_signal() const { return state_->received_signal; }

 private:
  const TrainerFacts* facts_;
  TrainerState* state_;
};

}  // namespace lightning
