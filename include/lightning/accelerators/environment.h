#pragma once
// What the machine and the process's launcher offer, read once and passed to the trainer's resolve
// step, so that GPU and cluster logic is testable on a CPU-only machine.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace lightning {

/// The devices this process can use and the variables its launcher (torchrun, SLURM, or
/// lightning-cpp's own launcher) set. Tests build one by hand to stand for a GPU node or a cluster.
///
///   auto env = pl::Environment::detect();   // env.cuda_devices == 0 on a CPU-only machine
struct Environment {
  /// The LibTorch this program links was built with CUDA.
  bool cuda_built = false;
  /// The LibTorch this program links has c10d's NCCL process group (and lightning-cpp was built
  /// with NCCL's header).
  bool nccl_built = false;
  /// CUDA devices visible to this process (0 without CUDA).
  int64_t cuda_devices = 0;
  /// The launcher and cluster variables that were set (RANK, LOCAL_RANK, WORLD_SIZE,
  /// LOCAL_WORLD_SIZE, NODE_RANK, GROUP_RANK, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RUN_ID, TORCHELASTIC_USE_AGENT_STORE and the
  /// SLURM_* ones); no others are kept.
  std::map<std::string, std::string> variables;

  /// The variable's value, or nullopt when it is unset.
  std::optional<std::string> variable(const std::string& name) const;
  /// This process's devices and environment.
  static Environment detect();
};

}  // namespace lightning
