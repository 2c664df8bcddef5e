#pragma once

#include <lightning/data/batch.h>
#include <lightning/core/optimizer_config.h>
#include <lightning/core/trainer_view.h>
#include <lightning/metrics/metric.h>

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lightning {

/// Options of `LightningModule::log`, with Lightning's meaning. Unset `on_step`/`on_epoch` take
/// Lightning's default for the hook that logs: on_step in training_step and the training batch
/// hooks, on_epoch everywhere else.
struct LogOptions {
  bool prog_bar = false;
  bool logger = true;
  std::optional<bool> on_step = std::nullopt;
  std::optional<bool> on_epoch = std::nullopt;
  /// How step values become the epoch value: "mean" (weighted by batch size), "sum", "max", "min".
  std::string reduce_fx = "mean";
  /// Reduce across processes (distributed training).
  bool sync_dist = false;
  /// The weight of this value in the epoch mean; defaults to the current batch's size.
  std::optional<int64_t> batch_size = std::nullopt;
};

/// What a step returns: nothing, a loss, or named tensors of which "loss" is the loss.
///
///   return loss;                              // training_step
///   return {{"loss", loss}, {"acc", acc}};    // with extra outputs for callbacks
///   return {};                                // skip this batch (automatic optimization)
struct StepOutput {
  StepOutput() = default;
  StepOutput(at::Tensor loss_tensor) : loss(std::move(loss_tensor)) {}  // NOLINT: implicit
  StepOutput(std::map<std::string, at::Tensor> values);                 // NOLINT: implicit

  bool empty() const { return !loss.defined() && extras.empty(); }
  /// Undefined when the step returned no loss.
  at::Tensor loss;
  /// Everything else the step returned, by name.
  std::map<std::string, at::Tensor> extras;
};

/// A hyperparameter value as `save_hyperparameters` keeps it.
using HyperValue = std::variant<bool, int64_t, double, std::string>;
using HyperParameters = std::map<std::string, HyperValue>;

class LightningModule;

/// What `log` records: a number, or a registered metric whose own states make the epoch value.
using LoggedValue = std::variant<double, metrics::Metric*>;

namespace detail {
/// What the module asks of the trainer while it runs: where logs go, how backward runs, which
/// optimizers it set up. The trainer implements it; modules never see the trainer itself.
class ModuleHost {
 public:
  virtual ~ModuleHost() = default;
  virtual void log(const std::string& name, LoggedValue value, const LogOptions& options) = 0;
  virtual void backward(const at::Tensor& loss) = 0;
  /// Steps one of the run's optimizers for manual optimization (through the gradient scaler of
  /// "16-mixed", which may skip it) and counts the global step.
  virtual void step_optimizer(torch::optim::Optimizer& optimizer, std::size_t optimizer_index) = 0;
  virtual std::vector<torch::optim::Optimizer*> optimizers() = 0;
  virtual std::vector<LRScheduler*> lr_schedulers() = 0;
  virtual TrainerView& view() = 0;
};
}  // namespace detail

/// An optimizer as manual optimization sees it: `step()` also counts the trainer's global step.
class LightningOptimizer {
 public:
  LightningOptimizer(torch::optim::Optimizer& optimizer, std::size_t index, detail::ModuleHost& host)
      : optimizer_(&optimizer), index_(index), host_(&host) {}
  void zero_grad(bool set_to_none = true);
  void step();
  torch::optim::Optimizer& optimizer() const { return *optimizer_; }

 private:
  torch::optim::Optimizer* optimizer_;
  std::size_t index_;
  detail::ModuleHost* host_;
};

/// A model with its training recipe: Lightning's LightningModule in C++.
///
/// Override the steps the run needs (training_step for fit, validation_step, test_step,
/// predict_step) and configure_optimizers; every hook keeps Lightning's name and order. See
/// docs/architecture.md for the full list and the order in which the trainer calls them.
class LightningModule : public torch::nn::Module {
 public:
  LightningModule() = default;
  explicit LightningModule(const std::string& name) : torch::nn::Module(name) {}

  // ---- steps ----
  virtual StepOutput training_step(const Batch& batch, int64_t batch_idx);
  virtual StepOutput validation_step(const Batch& batch, int64_t batch_idx);
  /// Called with several validation loaders; forwards to the two-argument form by default.
  virtual StepOutput validation_step(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {
    return validation_step(batch, batch_idx);
  }
  virtual StepOutput test_step(const Batch& batch, int64_t batch_idx);
  virtual StepOutput test_step(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {
    return test_step(batch, batch_idx);
  }
  virtual Batch predict_step(const Batch& batch, int64_t batch_idx);
  virtual Batch predict_step(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {
    return predict_step(batch, batch_idx);
  }
  virtual OptimizerConfig configure_optimizers();
  /// Replaces `configure_optimizers` for this instance, as LightningCLI's `optimizer:` and
  /// `lr_scheduler:` sections do; the trainer then calls `configure(*this)` instead.
  void replace_configure_optimizers(std::function<OptimizerConfig(LightningModule&)> configure);
  /// What the trainer calls: the replacement when one is set, else `configure_optimizers()`.
  OptimizerConfig make_optimizer_config();

  // ---- lifecycle hooks (Lightning's names; empty by default) ----
  virtual void setup(const std::string& stage) {}
  virtual void teardown(const std::string& stage) {}
  virtual void on_fit_start() {}
  virtual void on_fit_end() {}
  virtual void on_train_start() {}
  virtual void on_train_end() {}
  virtual void on_train_epoch_start() {}
  virtual void on_train_epoch_end() {}
  virtual void on_train_batch_start(const Batch& batch, int64_t batch_idx) {}
  virtual void on_train_batch_end(const StepOutput& outputs, const Batch& batch, int64_t batch_idx) {}
  virtual void on_validation_start() {}
  virtual void on_validation_end() {}
  virtual void on_validation_epoch_start() {}
  virtual void on_validation_epoch_end() {}
  virtual void on_validation_batch_start(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_validation_batch_end(const StepOutput& outputs, const Batch& batch, int64_t batch_idx,
                                       int64_t dataloader_idx) {}
  virtual void on_test_start() {}
  virtual void on_test_end() {}
  virtual void on_test_epoch_start() {}
  virtual void on_test_epoch_end() {}
  virtual void on_test_batch_start(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_test_batch_end(const StepOutput& outputs, const Batch& batch, int64_t batch_idx,
                                 int64_t dataloader_idx) {}
  virtual void on_predict_start() {}
  virtual void on_predict_end() {}
  virtual void on_predict_epoch_start() {}
  virtual void on_predict_epoch_end() {}
  virtual void on_predict_batch_start(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_predict_batch_end(const Batch& outputs, const Batch& batch, int64_t batch_idx,
                                    int64_t dataloader_idx) {}
  virtual void on_before_zero_grad(torch::optim::Optimizer& optimizer) {}
  virtual void on_before_backward(const at::Tensor& loss) {}
  virtual void on_after_backward() {}
  virtual void on_before_optimizer_step(torch::optim::Optimizer& optimizer) {}
  /// Called while a checkpoint is written (after the callbacks); may add entries to it.
  virtual void on_save_checkpoint(c10::Dict<std::string, c10::IValue>& checkpoint) {}
  /// Called when fit resumes from a checkpoint, after the weights were loaded.
  virtual void on_load_checkpoint(const c10::Dict<std::string, c10::IValue>& checkpoint) {}

  // ---- logging ----
  /// Records a metric for the loggers, the progress bar and callbacks (Lightning's `self.log`).
  /// Outside a trainer's run it does nothing.
  void log(const std::string& name, const at::Tensor& value, const LogOptions& options = {});
  void log(const std::string& name, double value, const LogOptions& options = {});
  void log_dict(const std::map<std::string, at::Tensor>& values, const LogOptions& options = {});
  void log_dict(const std::map<std::string, double>& values, const LogOptions& options = {});

  /// Logs a metric the module registered (Lightning's `self.log("val_acc", self.val_acc)`): on_step
  /// logs the value of its last forward(); on_epoch, compute() over the epoch, then reset().
  /// `reduce_fx` and `sync_dist` do not apply: the metric combines its own states.
  void log(const std::string& name, metrics::Metric& metric, const LogOptions& options = {});

  // ---- metrics ----
  /// Makes `metric` the module's own (torchmetrics' metrics are a module's children): it moves to
  /// the module's device, the trainer's probe leaves its states as they were, and `log` may log it.
  ///
  ///   pl::metrics::Accuracy& val_acc =
  ///       register_metric("val_acc", pl::metrics::Accuracy({.task = "multiclass", .num_classes = 10}));
  template <class M>
  M& register_metric(std::string name, M metric) {
    auto owned = std::make_shared<M>(std::move(metric));
    metrics_.emplace_back(std::move(name), owned);
    return *owned;
  }
  const std::vector<std::pair<std::string, std::shared_ptr<metrics::Metric>>>& named_metrics() const { return metrics_; }

  // ---- the trainer, as the module sees it ----
  int64_t current_epoch() const;
  int64_t global_step() const;
  /// The running trainer's view; throws std::logic_error outside a trainer's run.
  const TrainerView& trainer() const;

  // ---- manual optimization ----
  /// Set to false to step the optimizers yourself in training_step (Lightning's GAN pattern).
  bool automatic_optimization = true;
  std::vector<LightningOptimizer> optimizers();
  std::vector<LRScheduler*> lr_schedulers();
  /// Runs backward through the trainer (hooks, precision), instead of `loss.backward()`.
  void manual_backward(const at::Tensor& loss);

  // ---- hyperparameters ----
  /// Keeps the given name-to-value map with the module; checkpoints and loggers record it.
  void save_hyperparameters(HyperParameters hparams);
  const HyperParameters& hparams() const { return hparams_; }

  /// True once the base version of a step ran ("training_step", "validation_step", "test_step",
  /// "predict_step", "configure_optimizers"): the module does not define it.
  bool step_is_missing(std::string_view step_name) const;

  // Internal: the trainer attaches itself here for the duration of a run.
  void attach_host(detail::ModuleHost* host) { host_ = host; }

 private:
  detail::ModuleHost& host() const;
  detail::ModuleHost* host_ = nullptr;
  HyperParameters hparams_;
  std::vector<std::string> missing_steps_;
  std::function<OptimizerConfig(LightningModule&)> configure_optimizers_replacement_;
  std::vector<std::pair<std::string, std::shared_ptr<metrics::Metric>>> metrics_;
};

}  // namespace lightning
