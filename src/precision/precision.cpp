#include <lightning/precision/precision.h>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <map>

namespace lightning {
namespace {

// PyTorch 2.4 replaced the per-device autocast functions by ones taking the device type. Before
// it, CUDA's were the unqualified ones ("gpu").
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(c10::DeviceType device) { return at::autocast::is_autocast_enabled(device); }
void set_autocast(c10::DeviceType device, bool enabled) { at::autocast::set_autocast_enabled(device, enabled); }
c10::ScalarType autocast_dtype_of(c10::DeviceType device) { return at::autocast::get_autocast_dtype(device); }
void set_autocast_dtype(c10::DeviceType device, c10::ScalarType dtype) { at::autocast::set_autocast_dtype(device, dtype); }
#else
bool autocast_enabled(c10::DeviceType device) {
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
void set_autocast(c10::DeviceType device, bool enabled) {
  device == c10::DeviceType::CPU ? at::autocast::set_cpu_enabled(enabled) : at::autocast::set_enabled(enabled);
}
c10::ScalarType autocast_dtype_of(c10::DeviceType device) {
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
}
void set_autocast_dtype(c10::DeviceType device, c10::ScalarType dtype) {
  device == c10::DeviceType::CPU ? at::autocast::set_autocast_cpu_dtype(dtype) : at::autocast::set_autocast_gpu_dtype(dtype);
}
#endif

}  // namespace

std::string canonical_precision(const std::string& precision) {
  static const std::map<std::string, std::string> kAliases = {
      {"32", "32-true"}, {"64", "64-true"}, {"16", "16-mixed"}, {"bf16", "bf16-mixed"}};
  const auto alias = kAliases.find(precision);
  return alias == kAliases.end() ? precision : alias->second;
}

std::optional<c10::ScalarType> autocast_dtype(const std::string& precision, c10::DeviceType device) {
  const auto canonical = canonical_precision(precision);
  if (canonical == "bf16-mixed" && (device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA)) {
    return c10::ScalarType::BFloat16;
  }
  if (canonical == "16-mixed" && device == c10::DeviceType::CUDA) return c10::ScalarType::Half;
  return std::nullopt;
}

std::optional<c10::ScalarType> parameter_dtype(const std::string& precision) {
  static const std::map<std::string, c10::ScalarType> kTrue = {
      {"64-true", c10::ScalarType::Double}, {"bf16-true", c10::ScalarType::BFloat16}, {"16-true", c10::ScalarType::Half}};
  const auto found = kTrue.find(canonical_precision(precision));
  if (found == kTrue.end()) return std::nullopt;
  return found->second;
}

AutocastScope::AutocastScope(std::optional<c10::ScalarType> dtype, c10::DeviceType device) : device_(device) {
  if (!dtype) return;
  active_ = true;
  previous_enabled_ = autocast_enabled(device_);
  previous_dtype_ = autocast_dtype_of(device_);
  set_autocast(device_, true);
  set_autocast_dtype(device_, *dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast's exit: the cache of casted weights lives for the outermost scope only.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(device_, previous_enabled_);
  set_autocast_dtype(device_, previous_dtype_);
}

}  // namespace lightning
