#include <lightning/precision/grad_scaler.h>

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <stdexcept>

namespace lightning {

GradScaler::GradScaler(GradScalerOptions options) : options_(options) {
  place(at::Device(at::kCPU));
}

void GradScaler::place(const at::Device& device) {
  if (scale_.defined() && scale_.device() == device) return;
  const double scale = scale_.defined() ? scale_.item<double>() : options_.init_scale;
  const int64_t tracker = growth_tracker_.defined() ? growth_tracker_.item<int64_t>() : 0;
  scale_ = at::full({1}, scale, at::TensorOptions().dtype(at::kFloat).device(device));
  growth_tracker_ = at::full({1}, tracker, at::TensorOptions().dtype(at::kInt).device(device));
}

at::Tensor GradScaler::scale(const at::Tensor& loss) {
  place(loss.device());
  return loss * scale_.to(loss.scalar_type());
}

void GradScaler::unscale_(torch::optim::Optimizer& optimizer) {
  auto& state = per_optimizer_[&optimizer];
  if (state.unscaled) {
    throw std::logic_error("GradScaler::unscale_ was already called for this optimizer since the last update()");
  }
  std::vector<at::Tensor> grads;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& parameter : group.params()) {
      if (parameter.grad().defined()) grads.push_back(parameter.grad());
    }
  }
  // In double, then float, as PyTorch computes the inverse.
  const at::Tensor inverse = scale_.to(at::kDouble).reciprocal().to(at::kFloat);
  state.found_inf = at::zeros({1}, scale_.options());
  at::NoGradGuard no_grad;
  if (!grads.empty() && grads.front().is_cuda()) {
    at::_amp_foreach_non_finite_check_and_unscale_(grads, state.found_inf, inverse);
  } else {
    for (auto& grad : grads) {
      state.found_inf.logical_or_(grad.isfinite().all().logical_not());
      grad.mul_(inverse.to(grad.scalar_type()));
    }
  }
  state.unscaled = true;
}

bool GradScaler::gradients_finite(torch::optim::Optimizer& optimizer) {
  auto& state = per_optimizer_[&optimizer];
  if (!state.unscaled) unscale_(optimizer);
  return state.found_inf.item<float>() == 0.0F;
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  if (!gradients_finite(optimizer)) return false;
  optimizer.step();
  return true;
}

void GradScaler::update() {
  at::Tensor found_inf = at::zeros({1}, scale_.options());
  for (const auto& [optimizer, state] : per_optimizer_) {
    if (state.found_inf.defined()) found_inf.add_(state.found_inf);
  }
  found_inf.clamp_max_(1);
  if (scale_.is_cuda()) {
    at::_amp_update_scale_(scale_, growth_tracker_, found_inf, options_.growth_factor, options_.backoff_factor,
                           options_.growth_interval);
  } else {
    // _amp_update_scale_'s rule: back off and restart the count after an overflow; otherwise count,
    // and grow when the count reaches the interval.
    const bool overflow = found_inf.item<float>() != 0.0F;
    int64_t tracker = overflow ? 0 : growth_tracker_.item<int64_t>() + 1;
    double factor = overflow ? options_.backoff_factor : 1.0;
    if (!overflow && tracker == options_.growth_interval) {
      factor = options_.growth_factor;
      tracker = 0;
    }
    scale_.mul_(factor);
    growth_tracker_.fill_(tracker);
  }
  per_optimizer_.clear();
}

double GradScaler::get_scale() const { return scale_.item<double>(); }

int64_t GradScaler::growth_tracker() const { return growth_tracker_.item<int64_t>(); }

c10::impl::GenericDict GradScaler::state_dict() const {
  c10::impl::GenericDict state(c10::StringType::get(), c10::AnyType::get());
  state.insert("scale", get_scale());
  state.insert("growth_factor", options_.growth_factor);
  state.insert("backoff_factor", options_.backoff_factor);
  state.insert("growth_interval", options_.growth_interval);
  state.insert("_growth_tracker", growth_tracker());
  return state;
}

void GradScaler::load_state_dict(const c10::impl::GenericDict& state) {
  options_.growth_factor = state.at("growth_factor").toDouble();
  options_.backoff_factor = state.at("backoff_factor").toDouble();
  options_.growth_interval = state.at("growth_interval").toInt();
  scale_.fill_(state.at("scale").toDouble());
  growth_tracker_.fill_(state.at("_growth_tracker").toInt());
}

}  // namespace lightning
