#include "loops/loop_context.h"

#include <lightning/checkpoint/checkpoint_io.h>

namespace lightning::detail {

LoopContext::LoopContext(LightningModule& module, const std::vector<std::shared_ptr<Callback>>& callbacks,
                         const std::vector<std::shared_ptr<Logger>>& loggers, TrainerState& state, TrainerView& view,
                         const Settings& settings, ProcessGroup* group)
    : strategy(settings.strategy, settings.hardware.device(), group, settings.hardware.bucket_bytes),
      hooks(callbacks, module, view),
      logging(loggers, state, settings),
      module_(module),
      callbacks_(callbacks),
      state_(state),
      view_(view),
      settings_(settings) {
  module_.attach_host(this);
  strategy.setup(module_);
  state_.actions = this;
  state_.optimizer_config = &optimizer_config;
}

LoopContext::~LoopContext() {
  // A CUDA failure here would already have stopped the stage, whose error is the one to report.
  try {
    release_device();
  } catch (const std::exception&) {
  }
  module_.attach_host(nullptr);
  state_.actions = nullptr;
  state_.optimizer_config = nullptr;
}

void LoopContext::save_checkpoint(const std::string& filepath, bool weights_only) {
  // The probe leaves no trace, files included; other ranks hold the same state as rank zero.
  if (state_.probing || !view_.is_global_zero()) return;
  Checkpoint checkpoint = dump_checkpoint(checkpoint_parts(), weights_only);
  if (!weights_only) hooks.callbacks_only(&Callback::on_save_checkpoint, checkpoint);
  module_.on_save_checkpoint(checkpoint);
  save_checkpoint_file(checkpoint, filepath);
}

void LoopContext::backward(const at::Tensor& loss, bool average_gradients) {
  if (state_.probing) {
    loss.backward();
    return;
  }
  // "16-mixed" scales the loss first; hooks see the scaled loss, as in Lightning.
  const at::Tensor scaled = strategy.scale(loss);
  hooks(&Callback::on_before_backward, &LightningModule::on_before_backward, scaled);
  strategy.backward(scaled, average_gradients);
  hooks(&Callback::on_after_backward, &LightningModule::on_after_backward);
}

void LoopContext::step_optimizer(torch::optim::Optimizer& optimizer, std::size_t) {
  strategy.optimizer_step(optimizer);
  strategy.end_window();  // manual optimization ends the scaler's iteration at each step
  ++state_.global_step;
}

std::vector<LRScheduler*> LoopContext::lr_schedulers() {
  std::vector<LRScheduler*> out;
  for (auto& config : optimizer_config.schedulers()) out.push_back(config.scheduler.get());
  return out;
}

}  // namespace lightning::detail
