#pragma once
// How a step runs (Lightning's Strategy with its precision plugin): the device, the precision
// (autocast, the parameters' dtype, the loss scaler), gradient averaging over the ranks and
// clipping. It calls no hooks: the loops call them around it, so the hook order reads in one place.

#include <lightning/data/batch.h>
#include <lightning/core/module.h>
#include <lightning/precision/grad_scaler.h>
#include <lightning/precision/precision.h>

#include "strategies/gradient_reducer.h"
#include "strategies/process_group.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace lightning::detail {

/// What the strategy needs to know of the Trainer's options, resolved once.
struct StrategySettings {
  /// What each step's forward autocasts to ("bf16-mixed": bfloat16).
  std::optional<c10::ScalarType> autocast_dtype;
  /// "16-mixed" scales the loss and skips steps whose gradients overflow (a GradScaler).
  bool grad_scaler = false;
  /// The parameters' and floating inputs' dtype of a "true" precision ("64-true": float64).
  std::optional<c10::ScalarType> parameter_dtype;
  std::optional<double> gradient_clip_val;
  bool clip_by_norm = true;  ///< gradient_clip_algorithm "norm" (else "value")
};

class Strategy {
 public:
  /// `group` is the run's process group (null in one process); `bucket_bytes` its gradient buckets.
  Strategy(StrategySettings settings, c10::Device device, ProcessGroup* group = nullptr, int64_t bucket_bytes = 25 << 20);
  Strategy(const Strategy&) = delete;
  Strategy& operator=(const Strategy&) = delete;

  /// The module in the precision's dtype and on the device, for the length of a stage (Lightning
  /// converts the module at setup too; a float32 checkpoint restored later is converted as it is
  /// copied in).
  void setup(LightningModule& module);
  /// Before fit's first step of a distributed run: every rank takes rank 0's weights, as PyTorch's
  /// DistributedDataParallel does, and the gradient reducer is armed over the parameters.
  void setup_for_training(LightningModule& module);
  /// The module and its optimizers' state back on the CPU (Lightning's Strategy.teardown):
  /// nothing to do on the CPU.
  void teardown(LightningModule& module, const std::vector<torch::optim::Optimizer*>& optimizers);

  /// Runs `step` on what a step receives: under autocast for a mixed precision (forward and loss;
  /// backward runs outside, as in Lightning), the batch's floating tensors converted for a "true"
  /// precision, and moved to the device. Hooks see the batch as the loader gave it.
  template <class Step>
  auto run_step(const Batch& batch, Step&& step) const {
    AutocastScope autocast(settings_.autocast_dtype, device_.type());
    Batch converted;
    return step(step_input(batch, converted));
  }
  /// `batch`, or its tensors converted and moved (into `storage`): what `run_step` gives a step.
  const Batch& step_input(const Batch& batch, Batch& storage) const;

  /// `loss` as backward receives it: multiplied by the scale of "16-mixed", else itself.
  at::Tensor scale(const at::Tensor& loss);
  /// Backward of a scaled loss; in a distributed run, with `average_gradients`, the gradients are
  /// then averaged over the ranks (automatic optimization asks at the end of an accumulation
  /// window, as DDP under `no_sync`; manual_backward each time).
  void backward(const at::Tensor& scaled_loss, bool average_gradients);
  /// A distributed window whose last step this rank skipped (no loss): the rank still joins the
  /// gradient exchange, adding no gradient of its own, so that the ranks' collectives stay in step.
  /// Returns whether any rank gave the parameters a gradient (then every rank steps alike); false
  /// in one process.
  bool average_without_backward(LightningModule& module);
  /// The true gradients of "16-mixed" (hooks and clipping see them); nothing otherwise.
  void unscale(torch::optim::Optimizer& optimizer);
  /// Clips the gradients of `optimizer`'s parameters by norm or value when gradient_clip_val is set.
  void clip(torch::optim::Optimizer& optimizer) const;
  /// Steps `optimizer`, through the scaler of "16-mixed" (which skips a step whose gradients
  /// overflowed).
  void optimizer_step(torch::optim::Optimizer& optimizer);
  /// The end of an optimization window (or of each manual step): the scaler's new scale.
  void end_window();

  /// "16-mixed"'s loss scaler, whose state a checkpoint keeps ("MixedPrecision"); null otherwise.
  GradScaler* scaler() { return scaler_ ? &*scaler_ : nullptr; }
  const c10::Device& device() const { return device_; }

 private:
  StrategySettings settings_;
  c10::Device device_;
  ProcessGroup* group_;
  int64_t bucket_bytes_;
  std::optional<GradScaler> scaler_;
  std::unique_ptr<GradientReducer> reducer_;
};

}  // namespace lightning::detail
