#pragma once
// Learning-rate schedulers with PyTorch's formulas and saveable state. LibTorch 1.13 ships only
// StepLR, without state; these are the ones Lightning users reach for most. Each checks its
// options when built: every value outside its range, at once, in a MisconfigurationException
// (LC0317).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace lightning {

/// A scheduler's state: named lists of numbers (integers are stored exactly as doubles).
using SchedulerState = std::map<std::string, std::vector<double>>;

/// Base of every scheduler: like PyTorch's, constructing one applies the learning rate of step 0,
/// and each `step()` advances one epoch (or one step, with interval "step").
class LRScheduler {
 public:
  explicit LRScheduler(torch::optim::Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one period and writes the new learning rate of every parameter group.
  virtual void step();
  /// Advances with a monitored value; only schedulers that `requires_metric` use it.
  virtual void step(double metric);
  virtual bool requires_metric() const { return false; }
  /// The learning rate of each parameter group after the last step.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  torch::optim::Optimizer& optimizer() const { return *optimizer_; }
  /// The scheduler's name as in PyTorch ("StepLR", "OneCycleLR", ...).
  virtual std::string name() const = 0;

  virtual SchedulerState state_dict() const;
  /// Restores the state and writes the learning rates it holds into the optimizer.
  virtual void load_state_dict(const SchedulerState& state);

 protected:
  /// The learning rates for `last_epoch_`, from the current ones (PyTorch's chainable form).
  virtual std::vector<double> compute_lr() const = 0;
  /// Applies step 0; derived constructors call it once their options are set.
  void initial_step();
  std::vector<double> group_lrs() const;
  void set_group_lrs(const std::vector<double>& lrs);

  torch::optim::Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
};

/// lr * gamma every `step_size` epochs.
struct StepLROptions {
  int64_t step_size = 1;
  double gamma = 0.1;
};
class StepLR : public LRScheduler {
 public:
  StepLR(torch::optim::Optimizer& optimizer, StepLROptions options);
  std::string name() const override { return "StepLR"; }

 protected:
  std::vector<double> compute_lr() const override;

 private:
  StepLROptions options_;
};

/// lr * gamma at each milestone epoch.
struct MultiStepLROptions {
  std::vector<int64_t> milestones;
  double gamma = 0.1;
};
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(torch::optim::Optimizer& optimizer, MultiStepLROptions options);
  std::string name() const override { return "MultiStepLR"; }

 protected:
  std::vector<double> compute_lr() const override;

 private:
  MultiStepLROptions options_;
};

/// lr * gamma every epoch.
struct ExponentialLROptions {
  double gamma = 0.9;
};
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(torch::optim::Optimizer& optimizer, ExponentialLROptions options);
  std::string name() const override { return "ExponentialLR"; }

 protected:
  std::vector<double> compute_lr() const override;

 private:
  ExponentialLROptions options_;
};

/// Cosine from the base rate down to `eta_min` over `T_max` epochs, then back up (SGDR without
/// restarts), in PyTorch's recursive form.
struct CosineAnnealingLROptions {
  int64_t T_max = 1;
  double eta_min = 0.0;
};
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(torch::optim::Optimizer& optimizer, CosineAnnealingLROptions options);
  std::string name() const override { return "CosineAnnealingLR"; }

 protected:
  std::vector<double> compute_lr() const override;

 private:
  CosineAnnealingLROptions options_;
};

/// Linear warm-up: the factor goes from `start_factor` to `end_factor` over `total_iters` steps.
struct LinearLROptions {
  double start_factor = 1.0 / 3.0;
  double end_factor = 1.0;
  int64_t total_iters = 5;
};
class LinearLR : public LRScheduler {
 public:
  LinearLR(torch::optim::Optimizer& optimizer, LinearLROptions options);
  std::string name() const override { return "LinearLR"; }

 protected:
  std::vector<double> compute_lr() const override;

 private:
  LinearLROptions options_;
};

/// The 1cycle policy: up from max_lr/div_factor to max_lr, then down to
/// max_lr/(div_factor*final_div_factor); momentum (SGD, RMSprop) or beta1 (Adam, AdamW) cycles
/// the other way when `cycle_momentum`. Step it every batch (interval "step").
struct OneCycleLROptions {
  double max_lr = 0.1;
  int64_t total_steps = 0;
  double pct_start = 0.3;
  std::string anneal_strategy = "cos";  ///< "cos" or "linear"
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
};
class OneCycleLR : public LRScheduler {
 public:
  /// Throws MisconfigurationException (LC0317) for total_steps < 1, pct_start outside [0, 1], an
  /// unknown anneal_strategy, or cycle_momentum with an optimizer that has no momentum.
  OneCycleLR(torch::optim::Optimizer& optimizer, OneCycleLROptions options);
  std::string name() const override { return "OneCycleLR"; }
  using LRScheduler::step;
  void step() override;
  void load_state_dict(const SchedulerState& state) override;

 protected:
  std::vector<double> compute_lr() const override;

 private:
  struct Phase {
    double end_step;
    double start_lr, end_lr;
    double start_momentum, end_momentum;
  };
  /// The phase of `last_epoch_` and how far into it, as a fraction.
  std::pair<const Phase*, double> position() const;
  double anneal(double start, double end, double pct) const;
  void set_momentum(double momentum);
  OneCycleLROptions options_;
  std::vector<Phase> phases_;
};

/// Divides the rate by 1/factor when the monitored metric stops improving for `patience` epochs.
struct ReduceLROnPlateauOptions {
  std::string mode = "min";            ///< "min" or "max"
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  std::string threshold_mode = "rel";  ///< "rel" or "abs"
  int64_t cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};
class ReduceLROnPlateau : public LRScheduler {
 public:
  /// Throws MisconfigurationException (LC0317) for an unknown mode or threshold_mode, or factor >= 1.
  ReduceLROnPlateau(torch::optim::Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  std::string name() const override { return "ReduceLROnPlateau"; }
  bool requires_metric() const override { return true; }
  /// Throws std::logic_error: this scheduler needs the monitored value.
  void step() override;
  void step(double metric) override;
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& state) override;

 protected:
  std::vector<double> compute_lr() const override { return group_lrs(); }

 private:
  bool is_better(double value) const;
  ReduceLROnPlateauOptions options_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace lightning
