#include <lightning/core/trainer_view.h>

#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <stdexcept>

namespace lightning {

Interrupted::Interrupted(int signal, int64_t global_step)
    : std::runtime_error(fmt::format("fit stopped by {} after {} optimizer steps", signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : ::strsignal(signal), global_step)),
      signal_(signal) {}

std::vector<torch::optim::Optimizer*> TrainerView::optimizers() const {
  std::vector<torch::optim::Optimizer*> out;
  if (state_->optimizer_config == nullptr) return out;
  for (const auto& optimizer : state_->optimizer_config->optimizers()) out.push_back(optimizer.get());
  return out;
}

const std::vector<SchedulerConfig>& TrainerView::lr_scheduler_configs() const {
  static const std::vector<SchedulerConfig> kNone;
  return state_->optimizer_config == nullptr ? kNone : state_->optimizer_config->schedulers();
}

void TrainerView::save_checkpoint(const std::string& filepath, bool weights_only) const {
  if (state_->actions == nullptr) {
    throw std::logic_error("TrainerView::save_checkpoint: the trainer is not running; call it from a hook");
  }
  state_->actions->save_checkpoint(filepath, weights_only);
}

void TrainerView::log_metrics(const std::map<std::string, double>& metrics) const {
  if (state_->actions != nullptr) state_->actions->log_metrics(metrics);
}

}  // namespace lightning

namespace lightning {

void TrainerView::barrier() const {
  if (state_->collectives != nullptr) state_->collectives->barrier();
}

at::Tensor TrainerView::all_gather(const at::Tensor& tensor) const {
  if (state_->collectives == nullptr) return tensor.unsqueeze(0);
  return state_->collectives->all_gather(tensor);
}

at::Tensor TrainerView::all_reduce(const at::Tensor& tensor, ReduceOp op) const {
  at::Tensor out = tensor.clone();
  if (state_->collectives != nullptr) state_->collectives->all_reduce(out, op);
  return out;
}

}  // namespace lightning
