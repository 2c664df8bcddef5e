#include "trainer/connectors/accelerator_connector.h"

#include <lightning/precision/precision.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <variant>

namespace lightning::detail {

c10::Device ResolvedDevices::device() const {
  if (accelerator == c10::DeviceType::CPU) return c10::Device(c10::DeviceType::CPU);
  return c10::Device(accelerator, static_cast<c10::DeviceIndex>(device_ids.at(local_rank)));
}

namespace {

Subject trainer_option(std::string_view name) { return {"Trainer", {std::string(name)}}; }

const std::vector<std::string> kAccelerators = {"auto", "cpu", "cuda", "gpu", "mps"};
// Lightning's registered names: its find_unused_parameters variants are plain DDP here (parameters
// unused on some ranks are always handled, at no cost); those that start processes from Python
// (spawn, fork, notebook) are LC0126.
const std::vector<std::string> kDdpNames = {"ddp", "ddp_find_unused_parameters_true", "ddp_find_unused_parameters_false"};
const std::vector<std::string> kPythonLaunchedNames = {
    "ddp_spawn",    "ddp_spawn_find_unused_parameters_true", "ddp_spawn_find_unused_parameters_false",
    "ddp_fork",     "ddp_fork_find_unused_parameters_true",  "ddp_fork_find_unused_parameters_false",
    "ddp_notebook"};
const std::vector<std::string> kStrategies = [] {
  std::vector<std::string> names = {"auto", "single_device"};
  names.insert(names.end(), kDdpNames.begin(), kDdpNames.end());
  names.insert(names.end(), kPythonLaunchedNames.begin(), kPythonLaunchedNames.end());
  return names;
}();
const std::vector<std::string> kPrecisions = {"32-true", "32",   "64-true",  "64", "bf16-mixed",
                                              "bf16",    "bf16-true", "16-mixed", "16", "16-true"};

bool contains(const std::vector<std::string>& set, const std::string& value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

/// `devices` as the user wrote it: a count (-1 for all), "auto" (nullopt), or a list of indices.
struct DevicesRequest {
  bool is_auto = false;
  std::optional<int64_t> count;
  std::vector<int64_t> ids;
};

/// Reads `devices`; a malformed value is LC0119 and yields nullopt.
std::optional<DevicesRequest> read_devices(const Devices& devices, DiagnosticCollector& problems) {
  DevicesRequest request;
  std::string malformed;
  const auto& value = devices.value();
  if (const auto* count = std::get_if<int64_t>(&value)) {
    request.count = *count;
  } else if (const auto* ids = std::get_if<std::vector<int64_t>>(&value)) {
    request.ids = *ids;
    if (ids->empty()) malformed = "the list of devices is empty";
  } else {
    const auto& text = std::get<std::string>(value);
    if (text == "auto") {
      request.is_auto = true;
    } else if (text.find(',') == std::string::npos) {
      request.count = parse_int(text);
      if (!request.count) malformed = "a string is \"auto\", a count such as \"2\", or indices such as \"0,2\"";
    } else {  // "0,2", or "0," for the single device 0, as in Lightning
      std::string_view rest = text;
      while (!rest.empty() && malformed.empty()) {
        const auto comma = rest.find(',');
        const auto part = rest.substr(0, comma);
        if (const auto id = parse_int(part)) {
          request.ids.push_back(*id);
        } else if (!(part.empty() && comma == std::string_view::npos)) {
          malformed = fmt::format("\"{}\" is not a device index", part);
        }
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    }
  }
  if (malformed.empty() && request.count && (*request.count == 0 || *request.count < -1)) {
    malformed = "a device count must be >= 1, or -1 for every device";
  }
  if (malformed.empty() && !request.ids.empty()) {
    std::vector<int64_t> sorted = request.ids;
    std::sort(sorted.begin(), sorted.end());
    if (sorted.front() < 0) {
      malformed = "device indices are >= 0";
    } else if (const auto repeat = std::adjacent_find(sorted.begin(), sorted.end()); repeat != sorted.end()) {
      malformed = fmt::format("the list repeats device {}", *repeat);
    }
  }
  if (malformed.empty()) return request;
  problems.error({.code = "LC0119",
                  .message = fmt::format("Trainer option `devices` is malformed: {}", malformed),
                  .subject = trainer_option("devices"),
                  .received = devices.to_string(),
                  .expected = "-1, \"auto\", a count >= 1, or a list of distinct device indices",
                  .help = "use .devices = 1"});
  return std::nullopt;
}

/// The launcher's view of the run: ranks, world size and rendezvous from its variables.
struct LaunchedProcess {
  Launcher launcher = Launcher::kNone;
  std::string name;  ///< "torchrun", "lightning-cpp's launcher", "SLURM"
  int world_size = 1;
  int global_rank = 0;
  int local_rank = 0;
  int node_rank = 0;
  std::optional<int> processes_per_node;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
};

/// Reads an integer variable in [minimum, maximum]; a missing or malformed one is LC0129.
std::optional<int> read_variable(const Environment& env, const std::string& name, std::string_view launcher,
                                 int64_t minimum, int64_t maximum, DiagnosticCollector& problems) {
  const auto text = env.variable(name);
  const auto value = text ? parse_int(*text) : std::nullopt;
  if (value && *value >= minimum && *value <= maximum) return static_cast<int>(*value);
  problems.error({.code = "LC0129",
                  .message = fmt::format("environment variable {} {} for a process started by {}", name,
                                         text ? "is not valid" : "is missing", launcher),
                  .subject = {fmt::format("environment variable {}", name)},
                  .received = text ? fmt::format("\"{}\"", *text) : "unset",
                  .expected = fmt::format("an integer in [{}, {}]", minimum, maximum),
                  .help = "start the program with torchrun, srun or directly; do not set the launcher's "
                          "variables by hand"});
  return std::nullopt;
}

/// The first host of a SLURM node list: "node[03-05,9],gpu1" gives "node03".
std::string first_slurm_host(const std::string& nodelist) {
  const auto bracket = nodelist.find('[');
  const auto comma = nodelist.find(',');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket)) {
    return nodelist.substr(0, comma);
  }
  const auto end = nodelist.find_first_of(",-]", bracket + 1);
  return nodelist.substr(0, bracket) + nodelist.substr(bracket + 1, end - bracket - 1);
}

LaunchedProcess read_launcher(const Environment& env, DiagnosticCollector& problems) {
  LaunchedProcess process;
  if (env.variable("LOCAL_RANK")) {
    process.launcher = Launcher::kExternal;
    process.name = env.variable("TORCHELASTIC_RUN_ID") ? "torchrun" : "a launcher (LOCAL_RANK is set)";
    const auto world = read_variable(env, "WORLD_SIZE", process.name, 1, 1 << 20, problems);
    const int max_rank = world ? *world - 1 : 1 << 20;
    const auto rank = read_variable(env, "RANK", process.name, 0, max_rank, problems);
    const auto local = read_variable(env, "LOCAL_RANK", process.name, 0, max_rank, problems);
    if (env.variable("LOCAL_WORLD_SIZE")) {
      process.processes_per_node = read_variable(env, "LOCAL_WORLD_SIZE", process.name, 1, world.value_or(1 << 20), problems);
    }
    const auto port = read_variable(env, "MASTER_PORT", process.name, 1, 65535, problems);
    process.world_size = world.value_or(1);
    process.global_rank = rank.value_or(0);
    process.local_rank = local.value_or(0);
    process.master_port = port.value_or(0);
    process.master_addr = env.variable("MASTER_ADDR").value_or("127.0.0.1");
    if (const auto group = env.variable("GROUP_RANK") ? env.variable("GROUP_RANK") : env.variable("NODE_RANK")) {
      process.node_rank = static_cast<int>(parse_int(*group).value_or(0));
    }
    return process;
  }
  const auto job_name = env.variable("SLURM_JOB_NAME").value_or("");
  if (env.variable("SLURM_NTASKS") && job_name != "bash" && job_name != "interactive") {
    process.launcher = Launcher::kSlurm;
    process.name = "SLURM";
    const auto world = read_variable(env, "SLURM_NTASKS", process.name, 1, 1 << 20, problems);
    const int max_rank = world ? *world - 1 : 1 << 20;
    process.world_size = world.value_or(1);
    process.global_rank = read_variable(env, "SLURM_PROCID", process.name, 0, max_rank, problems).value_or(0);
    process.local_rank = read_variable(env, "SLURM_LOCALID", process.name, 0, max_rank, problems).value_or(0);
    process.node_rank = read_variable(env, "SLURM_NODEID", process.name, 0, max_rank, problems).value_or(0);
    if (env.variable("SLURM_NTASKS_PER_NODE")) {
      process.processes_per_node = read_variable(env, "SLURM_NTASKS_PER_NODE", process.name, 1, process.world_size, problems);
    }
    // Lightning's defaults: the first host of the allocation, and a port derived from the job id.
    process.master_addr = env.variable("MASTER_ADDR").value_or(first_slurm_host(env.variable("SLURM_NODELIST").value_or("127.0.0.1")));
    if (env.variable("MASTER_PORT")) {
      process.master_port = read_variable(env, "MASTER_PORT", process.name, 1, 65535, problems).value_or(0);
    } else {
      const auto job_id = parse_int(env.variable("SLURM_JOB_ID").value_or("0")).value_or(0);
      process.master_port = static_cast<int>(15000 + job_id % 10000);
    }
  }
  return process;
}

/// Step 2 of the precedence. Appends LC0118 when the accelerator cannot run here.
c10::DeviceType resolve_accelerator(const std::string& accelerator, const Environment& env,
                                    DiagnosticCollector& problems) {
  if (accelerator == "cpu") return c10::DeviceType::CPU;
  if (accelerator == "auto") return env.cuda_devices > 0 ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
  if (accelerator == "mps") {
    problems.error({.code = "LC0118",
                    .message = "accelerator \"mps\" (Apple's Metal) is not available to LibTorch on this platform",
                    .subject = trainer_option("accelerator"),
                    .received = "\"mps\"",
                    .expected = env.cuda_devices > 0 ? "\"cpu\", \"cuda\" or \"auto\"" : "\"cpu\" or \"auto\"",
                    .help = "use .accelerator = \"auto\""});
    return c10::DeviceType::CPU;
  }
  if (env.cuda_devices == 0) {  // "cuda" or "gpu"
    problems.error({.code = "LC0118",
                    .message = env.cuda_built
                                   ? fmt::format("accelerator \"{}\" needs a CUDA device, and none is visible", accelerator)
                                   : fmt::format("accelerator \"{}\" needs a LibTorch built with CUDA; this one is "
                                                 "CPU-only",
                                                 accelerator),
                    .subject = trainer_option("accelerator"),
                    .received = fmt::format("\"{}\"", accelerator),
                    .expected = "\"cpu\" or \"auto\" on this machine",
                    .help = env.cuda_built ? "check CUDA_VISIBLE_DEVICES and the driver, or use .accelerator = \"cpu\""
                                           : "use .accelerator = \"cpu\", or build against a CUDA LibTorch "
                                             "(CMAKE_PREFIX_PATH=/path/to/libtorch)"});
    return c10::DeviceType::CPU;
  }
  return c10::DeviceType::CUDA;
}

/// Step 3 of the precedence: the device indices of each node.
std::vector<int64_t> resolve_device_ids(const Devices& devices, const DevicesRequest& request,
                                        c10::DeviceType accelerator, const Environment& env,
                                        const LaunchedProcess& launched, DiagnosticCollector& problems) {
  auto first = [](int64_t n) {
    std::vector<int64_t> ids(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = i;
    return ids;
  };
  if (accelerator == c10::DeviceType::CPU) {
    if (!request.ids.empty() || request.count == -1) {
      problems.error({.code = "LC0119",
                      .message = "Trainer option `devices` names devices, but on the CPU it counts processes",
                      .subject = trainer_option("devices"),
                      .received = devices.to_string(),
                      .expected = "on the CPU: a number of processes >= 1, or \"auto\"",
                      .help = "use .devices = 2 for two processes, or .accelerator = \"cuda\" to choose GPUs"});
      return {0};
    }
    if (request.is_auto) return first(launched.processes_per_node.value_or(1));
    return first(*request.count);
  }
  std::vector<int64_t> ids;
  if (request.is_auto) {
    ids = first(launched.processes_per_node.value_or(static_cast<int>(env.cuda_devices)));
  } else if (request.count) {
    ids = first(*request.count == -1 ? env.cuda_devices : *request.count);
  } else {
    ids = request.ids;
  }
  const int64_t highest = *std::max_element(ids.begin(), ids.end());
  if (highest >= env.cuda_devices) {
    problems.error({.code = "LC0105",
                    .message = request.count
                                   ? fmt::format("Trainer option `devices` asks for {} CUDA devices; {} {} visible",
                                                 ids.size(), env.cuda_devices, env.cuda_devices == 1 ? "is" : "are")
                                   : fmt::format("Trainer option `devices` names CUDA device {}; this machine has "
                                                 "devices 0 to {}",
                                                 highest, env.cuda_devices - 1),
                    .subject = trainer_option("devices"),
                    .received = devices.to_string(),
                    .expected = fmt::format("at most {} devices, indices 0 to {}", env.cuda_devices, env.cuda_devices - 1),
                    .help = "use .devices = -1 for every visible device, or check CUDA_VISIBLE_DEVICES"});
  }
  return ids;
}

void check_precision(const TrainerOptions& o, c10::DeviceType accelerator, DiagnosticCollector& problems) {
  if (!contains(kPrecisions, o.precision)) {
    problems.error(unknown_choice("LC0103",
                                      fmt::format("Trainer option `precision` has an unknown value \"{}\"", o.precision),
                                      trainer_option("precision"), o.precision, kPrecisions));
    return;
  }
  const auto precision = canonical_precision(o.precision);
  if (accelerator == c10::DeviceType::CPU && (precision == "16-mixed" || precision == "16-true")) {
    // Lightning turns "16-mixed" on a CPU into bf16 with a warning; float16 training needs CUDA.
    problems.error({.code = "LC0123",
                    .message = fmt::format("precision \"{}\" needs a CUDA device; this trainer runs on the CPU",
                                           o.precision),
                    .subject = trainer_option("precision"),
                    .received = fmt::format("\"{}\"", o.precision),
                    .expected = "on the CPU: \"32-true\", \"64-true\", \"bf16-mixed\" or \"bf16-true\"",
                    .help = precision == "16-true" ? "use .precision = \"bf16-true\" (bfloat16 parameters on the CPU)"
                                                   : "use .precision = \"bf16-mixed\" (bfloat16 autocast on the CPU)"});
  }
}

/// DDPStrategy's process_group_backend: Lightning's choice when empty (NCCL for CUDA devices when
/// this LibTorch has it, else Gloo); NCCL needs both.
std::string resolve_backend(const DDPStrategy& ddp, c10::DeviceType accelerator, const Environment& env,
                            DiagnosticCollector& problems) {
  const std::string& asked = ddp.process_group_backend;
  const bool cuda = accelerator == c10::DeviceType::CUDA;
  if (asked.empty()) return cuda && env.nccl_built ? "nccl" : "gloo";
  const Subject backend{"DDPStrategy", {"process_group_backend"}};
  if (asked != "gloo" && asked != "nccl") {
    problems.error(unknown_choice("LC0132",
                                      fmt::format("DDPStrategy option `process_group_backend` has an unknown value \"{}\"", asked),
                                      backend, asked, {"gloo", "nccl"}));
    return "gloo";
  }
  if (asked == "nccl" && (!cuda || !env.nccl_built)) {
    problems.error({.code = "LC0132",
                    .message = cuda ? "process_group_backend \"nccl\" is not in this LibTorch (or lightning-cpp was "
                                      "built without NCCL's header)"
                                    : "process_group_backend \"nccl\" communicates between CUDA devices; this "
                                      "trainer runs on the CPU",
                    .subject = backend,
                    .received = "\"nccl\"",
                    .expected = cuda ? "\"gloo\", or a LibTorch built with NCCL" : "\"gloo\" on the CPU",
                    .help = cuda ? "use .process_group_backend = \"gloo\" (or leave it empty), or build against a "
                                   "CUDA LibTorch from pytorch.org with nccl.h on the include path"
                                 : "leave process_group_backend empty (Gloo on the CPU), or use .accelerator = \"cuda\""});
    return "gloo";
  }
  return asked;
}

}  // namespace

ResolvedDevices resolve_devices(const TrainerOptions& o, const Environment& env, DiagnosticCollector& problems) {
  ResolvedDevices resolved;
  const auto launched = read_launcher(env, problems);

  if (!contains(kAccelerators, o.accelerator)) {
    problems.error(unknown_choice("LC0102",
                                      fmt::format("Trainer option `accelerator` has an unknown value \"{}\"", o.accelerator),
                                      trainer_option("accelerator"), o.accelerator, kAccelerators));
  } else {
    resolved.accelerator = resolve_accelerator(o.accelerator, env, problems);
  }
  if (const auto request = read_devices(o.devices, problems)) {
    resolved.device_ids = resolve_device_ids(o.devices, *request, resolved.accelerator, env, launched, problems);
  }
  check_precision(o, resolved.accelerator, problems);
  resolved.precision = canonical_precision(o.precision);

  resolved.num_nodes = o.num_nodes;
  if (o.num_nodes < 1) {
    check_at_least(problems, "LC0125", trainer_option("num_nodes"), o.num_nodes, 1, "use .num_nodes = 1 on one machine");
    resolved.num_nodes = 1;
  }
  const int64_t world_size = static_cast<int64_t>(resolved.device_ids.size()) * resolved.num_nodes;

  if (!contains(kStrategies, o.strategy.name())) {
    problems.error(unknown_choice("LC0104",
                                      fmt::format("Trainer option `strategy` has an unknown value \"{}\"", o.strategy.name()),
                                      trainer_option("strategy"), o.strategy.name(), kStrategies));
  } else if (contains(kPythonLaunchedNames, o.strategy.name())) {
    problems.error({.code = "LC0126",
                    .message = fmt::format("strategy \"{}\" starts processes through Python's multiprocessing, "
                                           "which a C++ program does not have",
                                           o.strategy.name()),
                    .subject = trainer_option("strategy"),
                    .received = fmt::format("\"{}\"", o.strategy.name()),
                    .expected = "\"ddp\" (copies of this program, one per device), \"single_device\" or \"auto\"",
                    .help = "use .strategy = \"ddp\": it trains the same way, and the processes run the whole "
                            "program, so results stay available on every rank"});
  } else if (o.strategy.name() == "single_device" && world_size > 1) {
    problems.error({.code = "LC0124",
                    .message = fmt::format("strategy \"single_device\" runs one process, but devices and "
                                           "num_nodes ask for {}",
                                           world_size),
                    .subject = trainer_option("strategy"),
                    .received = fmt::format("strategy = \"single_device\", devices = {}, num_nodes = {}",
                                            o.devices.to_string(), o.num_nodes),
                    .expected = "\"ddp\" (or \"auto\") for more than one process, or devices = 1",
                    .help = "use .strategy = \"ddp\", or .devices = 1"});
  }
  const auto& ddp = o.strategy.ddp();
  if (ddp.timeout.count() <= 0 || !(ddp.bucket_cap_mb > 0.0)) {
    const bool timeout = ddp.timeout.count() <= 0;
    problems.error(timeout ? out_of_range("LC0130", {"DDPStrategy", {"timeout"}}, "positive",
                                          fmt::format("{} ms", ddp.timeout.count()), "a duration > 0",
                                          "leave it unset for PyTorch's 30 minutes, or e.g. std::chrono::minutes(5)")
                           : out_of_range("LC0130", {"DDPStrategy", {"bucket_cap_mb"}}, "positive",
                                          fmt::format("{}", ddp.bucket_cap_mb), "a size in megabytes > 0",
                                          "leave it unset for 25 MB"));
  }
  resolved.timeout = ddp.timeout;
  resolved.bucket_bytes = std::max<int64_t>(1, static_cast<int64_t>(ddp.bucket_cap_mb * (1 << 20)));
  resolved.process_group_backend = resolve_backend(ddp, resolved.accelerator, env, problems);
  resolved.ddp = contains(kDdpNames, o.strategy.name()) || (o.strategy.name() == "auto" && world_size > 1);

  resolved.launcher = launched.launcher;
  if (launched.launcher == Launcher::kNone) {
    if (resolved.num_nodes > 1) {
      problems.error({.code = "LC0127",
                      .message = fmt::format("num_nodes = {} needs a launcher that starts the program on every "
                                             "node; none was found",
                                             resolved.num_nodes),
                      .subject = trainer_option("num_nodes"),
                      .received = std::to_string(resolved.num_nodes),
                      .expected = "the variables of torchrun (LOCAL_RANK, RANK, WORLD_SIZE, ...) or of a SLURM "
                                  "batch job (SLURM_NTASKS, SLURM_PROCID, ...)",
                      .help = fmt::format("on each node run `torchrun --no-python --nnodes={} --nproc-per-node={} "
                                          "--node-rank=<n> --master-addr=<first node> ./your_program`, or srun",
                                          resolved.num_nodes, resolved.device_ids.size())});
    }
    resolved.world_size = static_cast<int>(world_size);
    if (resolved.ddp && world_size > 1) resolved.launcher = Launcher::kSubprocess;
  } else {
    if (world_size != launched.world_size) {
      problems.error({.code = "LC0128",
                      .message = fmt::format("{} started {} processes, but devices x num_nodes is {}", launched.name,
                                             launched.world_size, world_size),
                      .subject = trainer_option("devices"),
                      .received = fmt::format("devices = {}, num_nodes = {}, WORLD_SIZE = {}", o.devices.to_string(),
                                              o.num_nodes, launched.world_size),
                      .expected = fmt::format("devices x num_nodes = {}", launched.world_size),
                      .help = launched.processes_per_node
                                  ? fmt::format("use .devices = \"auto\" (or {}) and .num_nodes = {}",
                                                *launched.processes_per_node,
                                                launched.world_size / *launched.processes_per_node)
                                  : "use .devices = \"auto\", or start as many processes as devices x num_nodes"});
    }
    resolved.ddp = resolved.ddp || launched.world_size > 1;
    resolved.world_size = launched.world_size;
    resolved.global_rank = launched.global_rank;
    resolved.local_rank = std::min(launched.local_rank, static_cast<int>(resolved.device_ids.size()) - 1);
    resolved.node_rank = launched.node_rank;
    resolved.master_addr = launched.master_addr;
    resolved.master_port = launched.master_port;
    resolved.launcher_serves_store = env.variable("TORCHELASTIC_USE_AGENT_STORE") == std::optional<std::string>("True");
  }
  return resolved;
}

}  // namespace lightning::detail
