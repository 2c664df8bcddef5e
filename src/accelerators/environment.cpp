#include <lightning/accelerators/environment.h>

#include <torch/cuda.h>

#include <cstdlib>
#include <string_view>

extern char** environ;

namespace lightning {

namespace {

bool is_launcher_variable(std::string_view name) {
  static constexpr std::string_view kNames[] = {"RANK",        "LOCAL_RANK",  "WORLD_SIZE",
                                                "LOCAL_WORLD_SIZE", "NODE_RANK", "GROUP_RANK",
                                                "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID",
                                                "TORCHELASTIC_USE_AGENT_STORE"};
  for (auto known : kNames) {
    if (name == known) return true;
  }
  return name.starts_with("SLURM_");
}

}  // namespace

std::optional<std::string> Environment::variable(const std::string& name) const {
  const auto it = variables.find(name);
  if (it == variables.end()) return std::nullopt;
  return it->second;
}

Environment Environment::detect() {
  Environment env;
#ifdef LIGHTNING_TORCH_HAS_CUDA
  env.cuda_built = true;
#endif
#ifdef LIGHTNING_HAS_NCCL
  env.nccl_built = true;
#endif
  env.cuda_devices = env.cuda_built ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    const auto name = text.substr(0, equals);
    if (is_launcher_variable(name)) env.variables.emplace(std::string(name), std::string(text.substr(equals + 1)));
  }
  return env;
}

}  // namespace lightning
