#include <lightning/core/optimizer_config.h>

#include <torch/optim/optimizer.h>

#include <stdexcept>

namespace lightning {

torch::optim::Optimizer& OptimizerConfig::add(std::unique_ptr<torch::optim::Optimizer> optimizer) {
  if (!optimizer) throw std::invalid_argument("OptimizerConfig::add: the optimizer is null");
  optimizers_.push_back(std::move(optimizer));
  return *optimizers_.back();
}

LRScheduler& OptimizerConfig::add_scheduler(std::unique_ptr<LRScheduler> scheduler,
                                            SchedulerOptions options) {
  if (!scheduler) throw std::invalid_argument("OptimizerConfig::add_scheduler: the scheduler is null");
  schedulers_.push_back({std::move(scheduler), std::move(options)});
  return *schedulers_.back().scheduler;
}

}  // namespace lightning
