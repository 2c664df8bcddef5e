#pragma once
// Precision: Lightning's names for it, and autocast around the forward pass for mixed precision.

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

namespace lightning {

/// Lightning's aliases resolved: "32" -> "32-true", "64" -> "64-true", "16" -> "16-mixed",
/// "bf16" -> "bf16-mixed"; every other value is returned as it is.
std::string canonical_precision(const std::string& precision);

/// The dtype autocast lowers to for `precision` on `device`, or nullopt when it does not autocast:
/// bfloat16 for "bf16-mixed" (CPU and CUDA), float16 for "16-mixed" (CUDA only).
std::optional<c10::ScalarType> autocast_dtype(const std::string& precision, c10::DeviceType device);

/// The dtype of the parameters and of floating inputs for a "true" precision (Lightning's
/// DoublePrecision and HalfPrecision): float64 for "64-true", bfloat16 for "bf16-true", float16
/// for "16-true"; nullopt otherwise (the module keeps its float32 parameters).
std::optional<c10::ScalarType> parameter_dtype(const std::string& precision);

/// Autocast on `device` (the CPU or CUDA) to `dtype` while it lives (Lightning's MixedPrecision): the operations
/// PyTorch's autocast lists run in `dtype`, the others (losses, reductions) in float32, and
/// parameters and gradients stay float32. With nullopt it does nothing. Restores the autocast
/// state it found, so scopes nest.
///
///   { AutocastScope autocast(autocast_dtype("bf16-mixed", c10::DeviceType::CPU)); y = module(x); }
class AutocastScope {
 public:
  explicit AutocastScope(std::optional<c10::ScalarType> dtype, c10::DeviceType device = c10::DeviceType::CPU);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::BFloat16;
};

}  // namespace lightning
