#pragma once
// The first phase for the hardware: `accelerator`, `devices`, `num_nodes`, `strategy` and
// `precision`, with the environment passed in, turned into this process's place in the run.

#include <lightning/accelerators/environment.h>
#include <lightning/diagnostics/diagnostic.h>
#include <lightning/trainer/trainer_options.h>

#include <c10/core/Device.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace lightning::detail {

/// Who starts the processes of a run.
enum class Launcher {
  kNone,        ///< one process
  kSubprocess,  ///< this process becomes rank 0 and starts the others (devices > 1, one machine)
  kExternal,    ///< torchrun, or lightning-cpp's launcher, started this process (LOCAL_RANK is set)
  kSlurm,       ///< srun started one process per task
};

/// Where this process stands in the run, with nothing left unset.
struct ResolvedDevices {
  c10::DeviceType accelerator = c10::DeviceType::CPU;
  /// The devices of each node, one process per device (on the CPU: 0..n-1, one slot per process).
  std::vector<int64_t> device_ids = {0};
  int64_t num_nodes = 1;
  /// The strategy is "ddp": gradients are averaged over a process group, even one of a single process.
  bool ddp = false;
  Launcher launcher = Launcher::kNone;
  int world_size = 1;
  int global_rank = 0;
  int local_rank = 0;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  /// 0: the subprocess launcher picks a free port.
  int master_port = 0;
  /// torchrun's agent serves the rendezvous store itself (TORCHELASTIC_USE_AGENT_STORE=True).
  bool launcher_serves_store = false;
  /// DDPStrategy's settings: how long ranks wait for each other, and the gradient bucket size.
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  int64_t bucket_bytes = 25 << 20;
  /// c10d's backend for the process group: "gloo" or "nccl".
  std::string process_group_backend = "gloo";
  /// Lightning's precision names with the aliases resolved ("32" is "32-true").
  std::string precision = "32-true";

  /// This process's device: the CPU, or its own CUDA device.
  c10::Device device() const;
  bool distributed() const { return ddp && world_size > 1; }
};

/// Precedence, first to last:
/// 1. The launcher, from the environment: LOCAL_RANK set means torchrun or lightning-cpp's launcher
///    started this process (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT come from it); else
///    SLURM_NTASKS in a batch job (not one named "bash" or "interactive") means SLURM; else the
///    subprocess launcher when more than one process is asked for, and none otherwise.
/// 2. accelerator: "cpu"; "cuda" and "gpu" need a CUDA LibTorch and a visible device; "mps" is not
///    in LibTorch on Linux; "auto" is CUDA when a device is visible, else the CPU.
/// 3. devices: n (or "n") is the first n devices (on the CPU: n processes); -1 every CUDA device; a
///    list or "0,2" those CUDA devices; "auto" the processes per node a launcher started, else every
///    CUDA device, else one CPU process.
/// 4. strategy: "auto" is "ddp" when devices x num_nodes > 1, else "single_device".
/// 5. Under a launcher, devices x num_nodes must be its WORLD_SIZE; num_nodes > 1 needs a launcher.
/// 6. precision: the aliases resolved; the float16 ones need CUDA.
/// 7. DDPStrategy's process_group_backend: empty is "nccl" on CUDA when LibTorch has NCCL, else
///    "gloo"; "nccl" needs CUDA devices and a LibTorch with NCCL.
/// Every impossible combination is a diagnostic appended to `problems` (LC0102-LC0105, LC0118,
/// LC0119, LC0123-LC0130, LC0132); the result is then only partly meaningful.
ResolvedDevices resolve_devices(const TrainerOptions& options, const Environment& env,
                                DiagnosticCollector& problems);

}  // namespace lightning::detail
