#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lightning {

/// What the trainer is doing; Lightning's `trainer.state.stage`.
enum class Stage { kNone, kFit, kSanityCheck, kValidate, kTest, kPredict };

/// The trainer's progress and results, written by the trainer's loops and read through TrainerView.
struct TrainerState {
  Stage stage = Stage::kNone;
  bool training = false;  ///< inside the training part of fit (not an evaluation)
  int64_t current_epoch = 0;
  int64_t global_step = 0;
  int64_t max_epochs = -1;
  int64_t max_steps = -1;
  int64_t num_training_batches = 0;
  std::vector<int64_t> num_val_batches;
  std::vector<int64_t> num_test_batches;
  std::vector<int64_t> num_predict_batches;
  int64_t accumulate_grad_batches = 1;
  bool should_stop = false;
  bool sanity_checking = false;
  bool probing = false;  ///< the diagnostics probe runs a step that leaves no trace
  int global_rank = 0;
  int world_size = 1;
  std::string default_root_dir = ".";
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
  explicit TrainerView(TrainerState& state) : state_(&state) {}

  Stage stage() const { return state_->stage; }
  bool training() const { return state_->training; }
  bool sanity_checking() const { return state_->sanity_checking; }
  /// True while the diagnostics probe runs a step before training (its effects are undone).
  bool probing() const { return state_->probing; }
  int64_t current_epoch() const { return state_->current_epoch; }
  int64_t global_step() const { return state_->global_step; }
  int64_t max_epochs() const { return state_->max_epochs; }
  int64_t max_steps() const { return state_->max_steps; }
  int64_t num_training_batches() const { return state_->num_training_batches; }
  const std::vector<int64_t>& num_val_batches() const { return state_->num_val_batches; }
  const std::vector<int64_t>& num_test_batches() const { return state_->num_test_batches; }
  const std::vector<int64_t>& num_predict_batches() const { return state_->num_predict_batches; }
  int64_t accumulate_grad_batches() const { return state_->accumulate_grad_batches; }
  int global_rank() const { return state_->global_rank; }
  int world_size() const { return state_->world_size; }
  bool is_global_zero() const { return state_->global_rank == 0; }
  const std::string& default_root_dir() const { return state_->default_root_dir; }
  const std::map<std::string, double>& callback_metrics() const { return state_->callback_metrics; }
  const std::map<std::string, double>& logged_metrics() const { return state_->logged_metrics; }
  const std::map<std::string, double>& progress_bar_metrics() const {
    return state_->progress_bar_metrics;
  }
  bool should_stop() const { return state_->should_stop; }
  /// Asks the trainer to stop at the next point Lightning would (EarlyStopping does this).
  void request_stop() const { state_->should_stop = true; }

 private:
  TrainerState* state_;
};

}  // namespace lightning
