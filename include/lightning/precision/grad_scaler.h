#pragma once
// Loss scaling for float16 mixed precision: PyTorch's torch.amp.GradScaler, which LibTorch's C++
// API lacks (pytorch issue 44710).

#include <ATen/core/Tensor.h>
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <map>
#include <string>

namespace torch::optim {
class Optimizer;
}

namespace lightning {

/// PyTorch's GradScaler defaults.
struct GradScalerOptions {
  double init_scale = 65536.0;
  /// The scale is multiplied by this after `growth_interval` steps in a row without inf or NaN.
  double growth_factor = 2.0;
  /// ... and by this after a step whose gradients held an inf or NaN (the step is skipped).
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

/// Scales the loss so float16 gradients do not underflow, unscales the gradients before the
/// optimizer steps, skips steps whose gradients overflowed and adapts the scale, as
/// torch.amp.GradScaler does. On CUDA tensors it runs ATen's fused kernels
/// (`_amp_foreach_non_finite_check_and_unscale_`, `_amp_update_scale_`); on the CPU, where
/// LibTorch 1.13 has no kernels for them, the same arithmetic in ordinary operations.
///
///   pl::GradScaler scaler;
///   manual_backward(scaler.scale(loss));
///   scaler.unscale_(opt);                 // optional: clip the true gradients here
///   scaler.step(opt);                     // skipped if a gradient is inf or NaN
///   scaler.update();
class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  /// `loss` multiplied by the current scale (on the loss's device).
  at::Tensor scale(const at::Tensor& loss);
  /// Divides the gradients of `optimizer`'s parameters by the scale and records whether any is
  /// inf or NaN. At most once per optimizer between two `update`s; throws std::logic_error if
  /// called twice.
  void unscale_(torch::optim::Optimizer& optimizer);
  /// Steps `optimizer` (unscaling first if `unscale_` was not called) unless one of its gradients
  /// was inf or NaN; returns whether it stepped.
  bool step(torch::optim::Optimizer& optimizer);
  /// The same for manual optimization's LightningOptimizer, whose step also counts the global step.
  template <class Wrapped>
    requires requires(Wrapped& wrapped) { wrapped.optimizer(); wrapped.step(); }
  bool step(Wrapped& optimizer) {
    if (!gradients_finite(optimizer.optimizer())) return false;
    optimizer.step();
    return true;
  }
  /// Unscales `optimizer`'s gradients if `unscale_` was not called, and says whether all are finite.
  bool gradients_finite(torch::optim::Optimizer& optimizer);
  /// Ends the iteration: after a skipped step the scale backs off, after `growth_interval` good
  /// steps in a row it grows.
  void update();

  double get_scale() const;
  int64_t growth_tracker() const;
  /// PyTorch's keys: "scale", "growth_factor", "backoff_factor", "growth_interval",
  /// "_growth_tracker" (Lightning keeps them in checkpoints under "MixedPrecision").
  c10::impl::GenericDict state_dict() const;
  void load_state_dict(const c10::impl::GenericDict& state);

 private:
  struct OptimizerState {
    bool unscaled = false;
    at::Tensor found_inf;  ///< 1 when a gradient was inf or NaN
  };
  /// The scale and its tracker live on the device of the first scaled loss (PyTorch's lazy init).
  void place(const at::Device& device);

  GradScalerOptions options_;
  at::Tensor scale_;           ///< float32 [1]
  at::Tensor growth_tracker_;  ///< int32 [1]
  std::map<const torch::optim::Optimizer*, OptimizerState> per_optimizer_;
};

}  // namespace lightning
