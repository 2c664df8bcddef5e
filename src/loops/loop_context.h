#pragma once
// One run of a stage as the loops see it: the module's host, the run's collaborators (strategy,
// hook dispatcher, logger connector), the optimizers and the loop's progress.

#include <lightning/callbacks/callback.h>
#include <lightning/core/module.h>
#include <lightning/loggers/logger.h>

#include "loops/hooks.h"
#include "loops/logger_connector.h"
#include "strategies/strategy.h"
#include "trainer/connectors/checkpoint_connector.h"
#include "trainer/connectors/settings.h"

#include <memory>
#include <string>
#include <vector>

namespace lightning::detail {

class LoopContext final : public ModuleHost, public TrainerActions {
 public:
  /// Puts the module in the precision's dtype and on the device (`group`: a distributed run's).
  LoopContext(LightningModule& module, const std::vector<std::shared_ptr<Callback>>& callbacks,
              const std::vector<std::shared_ptr<Logger>>& loggers, TrainerState& state, TrainerView& view,
              const Settings& settings, ProcessGroup* group = nullptr);
  /// The module goes back where the caller built it (the CPU).
  ~LoopContext() override;
  LoopContext(const LoopContext&) = delete;
  LoopContext& operator=(const LoopContext&) = delete;

  // ModuleHost
  void log(const std::string& name, LoggedValue value, const LogOptions& options) override {
    logging.log(name, value, options);
  }
  /// manual_backward: gradients are averaged over the ranks after every one, as DDP does.
  void backward(const at::Tensor& loss) override { backward(loss, /*average_gradients=*/true); }
  void step_optimizer(torch::optim::Optimizer& optimizer, std::size_t optimizer_index) override;
  std::vector<torch::optim::Optimizer*> optimizers() override { return view_.optimizers(); }
  std::vector<LRScheduler*> lr_schedulers() override;
  TrainerView& view() override { return view_; }

  // TrainerActions
  /// The checkpoint, on_save_checkpoint (callbacks unless `weights_only`, then the module), the file.
  void save_checkpoint(const std::string& filepath, bool weights_only) override;
  void log_metrics(const std::map<std::string, double>& metrics) override {
    logging.log_metrics(metrics, progress.batches_that_stepped);
  }
  bool should_update_logs() const override { return logging.should_update_logs(progress.batches_that_stepped); }

  /// on_before_backward with the (scaled) loss, the strategy's backward, on_after_backward; while
  /// probing, the backward alone (no hook sees the probe).
  void backward(const at::Tensor& loss, bool average_gradients);
  /// Lightning's Strategy.teardown: the module and its optimizers' state go back to the CPU.
  void release_device() { strategy.teardown(module_, optimizers()); }
  CheckpointParts checkpoint_parts() {
    return {module_, state_, progress, optimizer_config, callbacks_, strategy.scaler()};
  }

  LightningModule& module() { return module_; }
  TrainerState& state() { return state_; }
  const Settings& settings() const { return settings_; }
  const std::vector<std::shared_ptr<Callback>>& callbacks() const { return callbacks_; }

  Strategy strategy;
  HookDispatcher hooks;
  LoggerConnector logging;
  OptimizerConfig optimizer_config;
  FitProgress progress;
  /// A fit resumed from a checkpoint: FitLoop continues from `progress`.
  bool resumed = false;

 private:
  LightningModule& module_;
  const std::vector<std::shared_ptr<Callback>>& callbacks_;
  TrainerState& state_;
  TrainerView& view_;
  const Settings& settings_;
};

}  // namespace lightning::detail
