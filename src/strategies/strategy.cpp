#include "strategies/strategy.h"

#include <lightning/checkpoint/checkpoint_io.h>

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/optimizer.h>

#include <algorithm>
#include <utility>

namespace lightning::detail {
namespace {

/// The module's parameters and buffers, and its gradients (which LibTorch's Module::to leaves where
/// they were, unlike PyTorch's), on `device`.
void move_module(torch::nn::Module& module, const c10::Device& device) {
  module.to(device);
  for (auto& parameter : module.parameters()) {
    if (parameter.grad().defined() && parameter.grad().device() != device) {
      parameter.mutable_grad() = parameter.grad().to(device);
    }
  }
}

std::vector<at::Tensor> parameters_of(torch::optim::Optimizer& optimizer) {
  std::vector<at::Tensor> params;
  for (auto& group : optimizer.param_groups()) {
    params.insert(params.end(), group.params().begin(), group.params().end());
  }
  return params;
}

}  // namespace

Strategy::Strategy(StrategySettings settings, c10::Device device, ProcessGroup* group, int64_t bucket_bytes)
    : settings_(std::move(settings)), device_(device), group_(group), bucket_bytes_(bucket_bytes) {
  if (settings_.grad_scaler) scaler_.emplace();
}

void Strategy::setup(LightningModule& module) {
  if (settings_.parameter_dtype) module.to(*settings_.parameter_dtype);
  if (!device_.is_cpu()) move_module(module, device_);
  for (const auto& [name, metric] : module.named_metrics()) metric->to(device_);
}

void Strategy::setup_for_training(LightningModule& module) {
  if (group_ == nullptr) return;
  auto tensors = module.parameters();
  for (const auto& buffer : module.buffers()) tensors.push_back(buffer);
  broadcast_from_rank_zero(*group_, tensors);
  reducer_ = std::make_unique<GradientReducer>(*group_, module.parameters(), bucket_bytes_);
}

void Strategy::teardown(LightningModule& module, const std::vector<torch::optim::Optimizer*>& optimizers) {
  if (device_.is_cpu()) return;
  move_module(module, c10::Device(c10::DeviceType::CPU));
  for (const auto& [name, metric] : module.named_metrics()) metric->to(c10::Device(c10::DeviceType::CPU));
  // Each optimizer state goes where its parameter now is (the parameters moved in place, so the
  // optimizers still hold them): the state dict's round trip puts it there.
  for (auto* optimizer : optimizers) {
    load_optimizer_state_dict(*optimizer, optimizer_state_dict(*optimizer), "the optimizer's state at teardown");
  }
}

const Batch& Strategy::step_input(const Batch& batch, Batch& storage) const {
  const bool move = !device_.is_cpu();
  if (!settings_.parameter_dtype && !move) return batch;
  storage = move ? batch.to(device_) : batch;
  if (settings_.parameter_dtype) storage = storage.to_floating(*settings_.parameter_dtype);
  return storage;
}

at::Tensor Strategy::scale(const at::Tensor& loss) { return scaler_ ? scaler_->scale(loss) : loss; }

void Strategy::backward(const at::Tensor& scaled_loss, bool average_gradients) {
  const bool reduce = reducer_ && average_gradients;
  if (reduce) reducer_->prepare_for_backward();
  scaled_loss.backward();
  if (reduce) reducer_->finish();
}

bool Strategy::average_without_backward(LightningModule& module) {
  if (!reducer_) return false;
  reducer_->prepare_for_backward();
  reducer_->finish();
  const auto parameters = module.parameters();
  return std::any_of(parameters.begin(), parameters.end(), [](const at::Tensor& p) { return p.grad().defined(); });
}

void Strategy::unscale(torch::optim::Optimizer& optimizer) {
  if (scaler_) scaler_->unscale_(optimizer);
}

void Strategy::clip(torch::optim::Optimizer& optimizer) const {
  if (!settings_.gradient_clip_val) return;
  auto params = parameters_of(optimizer);
  if (settings_.clip_by_norm) {
    torch::nn::utils::clip_grad_norm_(params, *settings_.gradient_clip_val, 2.0);
  } else {
    torch::nn::utils::clip_grad_value_(params, *settings_.gradient_clip_val);
  }
}

void Strategy::optimizer_step(torch::optim::Optimizer& optimizer) {
  if (scaler_) {
    scaler_->step(optimizer);
  } else {
    optimizer.step();
  }
}

void Strategy::end_window() {
  if (scaler_) scaler_->update();
}

}  // namespace lightning::detail
