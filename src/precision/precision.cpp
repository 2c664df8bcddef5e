#include <lightning/precision/precision.h>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <map>

namespace lightning {
namespace {

// PyTorch 2.4 replaced the per-device autocast functions by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cpu_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCPU); }
void set_cpu_autocast(bool enabled) { at::autocast::set_autocast_enabled(at::kCPU, enabled); }
c10::ScalarType cpu_autocast_dtype() { return at::autocast::get_autocast_dtype(at::kCPU); }
void set_cpu_autocast_dtype(c10::ScalarType dtype) { at::autocast::set_autocast_dtype(at::kCPU, dtype); }
#else
bool cpu_autocast_enabled() { return at::autocast::is_cpu_enabled(); }
void set_cpu_autocast(bool enabled) { at::autocast::set_cpu_enabled(enabled); }
c10::ScalarType cpu_autocast_dtype() { return at::autocast::get_autocast_cpu_dtype(); }
void set_cpu_autocast_dtype(c10::ScalarType dtype) { at::autocast::set_autocast_cpu_dtype(dtype); }
#endif

}  // namespace

std::string canonical_precision(const std::string& precision) {
  static const std::map<std::string, std::string> kAliases = {
      {"32", "32-true"}, {"64", "64-true"}, {"16", "16-mixed"}, {"bf16", "bf16-mixed"}};
  const auto alias = kAliases.find(precision);
  return alias == kAliases.end() ? precision : alias->second;
}

std::optional<c10::ScalarType> autocast_dtype(const std::string& precision, c10::DeviceType device) {
  // CUDA's autocast (and "16-mixed" with its gradient scaler) comes with CUDA training.
  if (canonical_precision(precision) != "bf16-mixed" || device != c10::DeviceType::CPU) return std::nullopt;
  return c10::ScalarType::BFloat16;
}

std::optional<c10::ScalarType> parameter_dtype(const std::string& precision) {
  static const std::map<std::string, c10::ScalarType> kTrue = {
      {"64-true", c10::ScalarType::Double}, {"bf16-true", c10::ScalarType::BFloat16}, {"16-true", c10::ScalarType::Half}};
  const auto found = kTrue.find(canonical_precision(precision));
  if (found == kTrue.end()) return std::nullopt;
  return found->second;
}

AutocastScope::AutocastScope(std::optional<c10::ScalarType> dtype) {
  if (!dtype) return;
  active_ = true;
  previous_enabled_ = cpu_autocast_enabled();
  previous_dtype_ = cpu_autocast_dtype();
  set_cpu_autocast(true);
  set_cpu_autocast_dtype(*dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast's exit: the cache of casted weights lives for the outermost scope only.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_cpu_autocast(previous_enabled_);
  set_cpu_autocast_dtype(previous_dtype_);
}

}  // namespace lightning
