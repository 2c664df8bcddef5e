#pragma once

#include <lightning/core/lr_scheduler.h>

#include <torch/optim/optimizer.h>

#include <concepts>
#include <memory>
#include <string>
#include <vector>

namespace lightning {

/// How the trainer steps a scheduler (Lightning's lr_scheduler config).
struct SchedulerOptions {
  /// "epoch" (after each training epoch) or "step" (after each optimizer step).
  std::string interval = "epoch";
  /// Step every `frequency` intervals.
  int64_t frequency = 1;
  /// The logged metric passed to schedulers that need one (ReduceLROnPlateau).
  std::string monitor = "";
  /// Fail when `monitor` is not among the logged metrics (otherwise warn and skip the step).
  bool strict = true;
  /// Name for learning-rate logging; defaults to "lr-<Optimizer>".
  std::string name = "";
};

struct SchedulerConfig {
  std::unique_ptr<LRScheduler> scheduler;
  SchedulerOptions options;
};

/// What `configure_optimizers` returns: one optimizer, several, each with schedulers.
///
///   return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-3));
///
///   pl::OptimizerConfig config;
///   auto& adam = config.add(std::make_unique<torch::optim::Adam>(parameters(), ...));
///   config.add_scheduler(std::make_unique<pl::StepLR>(adam, pl::StepLROptions{.step_size = 10}),
///                        {.interval = "epoch"});
///   return config;
class OptimizerConfig {
 public:
  OptimizerConfig() = default;
  template <std::derived_from<torch::optim::Optimizer> O>
  OptimizerConfig(std::unique_ptr<O> optimizer) {  // NOLINT: implicit so `return make_unique<...>` works
    add(std::move(optimizer));
  }
  OptimizerConfig(OptimizerConfig&&) noexcept = default;
  OptimizerConfig& operator=(OptimizerConfig&&) noexcept = default;

  /// Adds an optimizer and returns it (to build its schedulers on).
  torch::optim::Optimizer& add(std::unique_ptr<torch::optim::Optimizer> optimizer);
  /// Adds a scheduler of one of the optimizers added before.
  LRScheduler& add_scheduler(std::unique_ptr<LRScheduler> scheduler, SchedulerOptions options = {});

  const std::vector<std::unique_ptr<torch::optim::Optimizer>>& optimizers() const {
    return optimizers_;
  }
  std::vector<SchedulerConfig>& schedulers() { return schedulers_; }
  const std::vector<SchedulerConfig>& schedulers() const { return schedulers_; }
  bool empty() const { return optimizers_.empty(); }

 private:
  std::vector<std::unique_ptr<torch::optim::Optimizer>> optimizers_;
  std::vector<SchedulerConfig> schedulers_;
};

}  // namespace lightning
