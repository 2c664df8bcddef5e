// The resolve step for accelerator, devices, num_nodes, strategy and precision, with made-up
// environments standing for GPU nodes, torchrun and SLURM (this machine has neither).

#include "trainer/connectors/accelerator_connector.h"

#include <gtest/gtest.h>

#include <string>

namespace lightning::detail {
namespace {

Environment cpu_machine() { return {}; }

Environment gpu_machine(int64_t devices) { return {.cuda_built = true, .cuda_devices = devices}; }

struct Resolution {
  ResolvedDevices devices;
  std::vector<Diagnostic> problems;
  std::string text() const { return MisconfigurationException(problems).what(); }
};

Resolution resolve(const TrainerOptions& options, const Environment& env) {
  Resolution r;
  DiagnosticCollector found;
  r.devices = resolve_devices(options, env, found);
  r.problems = found.diagnostics();
  return r;
}

Environment torchrun(int rank, int local_rank, int world_size, int local_world_size) {
  Environment env = cpu_machine();
  env.variables = {{"RANK", std::to_string(rank)},
                   {"LOCAL_RANK", std::to_string(local_rank)},
                   {"WORLD_SIZE", std::to_string(world_size)},
                   {"LOCAL_WORLD_SIZE", std::to_string(local_world_size)},
                   {"GROUP_RANK", std::to_string(rank / local_world_size)},
                   {"MASTER_ADDR", "10.0.0.1"},
                   {"MASTER_PORT", "29500"},
                   {"TORCHELASTIC_RUN_ID", "none"}};
  return env;
}

TEST(AcceleratorConnector, DefaultsAreOneCpuProcessWithoutAProcessGroup) {
  const auto r = resolve({}, cpu_machine());
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.devices.accelerator, c10::DeviceType::CPU);
  EXPECT_EQ(r.devices.device_ids, std::vector<int64_t>{0});
  EXPECT_FALSE(r.devices.ddp);
  EXPECT_EQ(r.devices.launcher, Launcher::kNone);
  EXPECT_EQ(r.devices.world_size, 1);
  EXPECT_EQ(r.devices.device().type(), c10::DeviceType::CPU);
}

TEST(AcceleratorConnector, TwoCpuDevicesAreTwoProcessesThisOneLaunches) {
  const auto r = resolve({.devices = 2}, cpu_machine());
  EXPECT_TRUE(r.problems.empty()) << r.text();
  EXPECT_EQ(r.devices.device_ids, (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(r.devices.ddp);
  EXPECT_TRUE(r.devices.distributed());
  EXPECT_EQ(r.devices.launcher, Launcher::kSubprocess);
  EXPECT_EQ(r.devices.world_size, 2);
  EXPECT_EQ(r.devices.global_rank, 0);
  EXPECT_EQ(r.devices.master_port, 0);  // the launcher picks a free one
  EXPECT_EQ(resolve({.devices = "3"}, cpu_machine()).devices.world_size, 3);
}

TEST(AcceleratorConnector, ExplicitDdpOnOneDeviceKeepsAProcessGroupOfOne) {
  const auto r = resolve({.strategy = "ddp"}, cpu_machine());
  EXPECT_TRUE(r.problems.empty()) << r.text();
  EXPECT_TRUE(r.devices.ddp);
  EXPECT_FALSE(r.devices.distributed());
  EXPECT_EQ(r.devices.launcher, Launcher::kNone);
}

TEST(AcceleratorConnector, AutoChoosesEveryVisibleCudaDevice) {
  const auto r = resolve({}, gpu_machine(4));
  EXPECT_TRUE(r.problems.empty()) << r.text();
  EXPECT_EQ(r.devices.accelerator, c10::DeviceType::CUDA);
  EXPECT_EQ(r.devices.device_ids, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(r.devices.ddp);
  EXPECT_EQ(r.devices.launcher, Launcher::kSubprocess);
  EXPECT_EQ(r.devices.device(), c10::Device(c10::DeviceType::CUDA, 0));
  EXPECT_EQ(resolve({.accelerator = "gpu", .devices = -1}, gpu_machine(2)).devices.device_ids.size(), 2u);
  EXPECT_EQ(resolve({.accelerator = "cpu"}, gpu_machine(2)).devices.accelerator, c10::DeviceType::CPU);
}

TEST(AcceleratorConnector, DeviceListsChooseThoseDevicesAndEachLocalRankItsOwn) {
  EXPECT_EQ(resolve({.accelerator = "cuda", .devices = "1,3"}, gpu_machine(4)).devices.device_ids,
            (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(resolve({.accelerator = "cuda", .devices = "0,"}, gpu_machine(4)).devices.device_ids,
            (std::vector<int64_t>{0}));
  auto env = torchrun(1, 1, 2, 2);
  env.cuda_built = true;
  env.cuda_devices = 4;
  const auto r = resolve({.accelerator = "cuda", .devices = {1, 3}}, env);
  EXPECT_TRUE(r.problems.empty()) << r.text();
  EXPECT_EQ(r.devices.device(), c10::Device(c10::DeviceType::CUDA, 3));
}

TEST(AcceleratorConnector, MoreCudaDevicesThanVisibleIsLC0105) {
  auto r = resolve({.accelerator = "cuda", .devices = 4}, gpu_machine(2));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, "LC0105");
  EXPECT_NE(r.text().find("Trainer option `devices` asks for 4 CUDA devices; 2 are visible"), std::string::npos) << r.text();
  r = resolve({.accelerator = "cuda", .devices = {0, 2}}, gpu_machine(2));
  EXPECT_NE(r.text().find("names CUDA device 2; this machine has devices 0 to 1"), std::string::npos) << r.text();
}

TEST(AcceleratorConnector, CudaWithoutCudaIsLC0118SayingWhy) {
  auto r = resolve({.accelerator = "cuda"}, cpu_machine());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, "LC0118");
  EXPECT_NE(r.text().find("accelerator \"cuda\" needs a LibTorch built with CUDA; this one is CPU-only"),
            std::string::npos) << r.text();
  EXPECT_NE(r.text().find("CMAKE_PREFIX_PATH"), std::string::npos);
  r = resolve({.accelerator = "gpu"}, gpu_machine(0));
  EXPECT_NE(r.text().find("accelerator \"gpu\" needs a CUDA device, and none is visible"), std::string::npos) << r.text();
  EXPECT_NE(r.text().find("CUDA_VISIBLE_DEVICES"), std::string::npos);
}

TEST(AcceleratorConnector, MalformedDeviceStringsAreLC0119) {
  const auto r = resolve({.devices = "0,x"}, gpu_machine(2));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, "LC0119");
  EXPECT_NE(r.text().find("\"x\" is not a device index"), std::string::npos) << r.text();
  EXPECT_EQ(resolve({.devices = "many"}, cpu_machine()).problems.at(0).code, "LC0119");
  EXPECT_EQ(resolve({.accelerator = "cpu", .devices = -1}, cpu_machine()).problems.at(0).code, "LC0119");
}

TEST(AcceleratorConnector, FloatSixteenNeedsCuda) {
  EXPECT_EQ(resolve({.precision = "16-mixed"}, cpu_machine()).problems.at(0).code, "LC0123");
  for (const char* precision : {"16-true", "16-mixed", "bf16-mixed", "bf16-true"}) {
    EXPECT_TRUE(resolve({.precision = precision}, gpu_machine(1)).problems.empty()) << precision;
  }
  EXPECT_EQ(resolve({.precision = "bf16"}, cpu_machine()).devices.precision, "bf16-mixed");
}

TEST(AcceleratorConnector, TorchrunSetsRanksAndRendezvousAndDevicesAutoFollowsIt) {
  const auto r = resolve({.num_nodes = 2}, torchrun(3, 1, 4, 2));
  EXPECT_TRUE(r.problems.empty()) << r.text();
  EXPECT_EQ(r.devices.launcher, Launcher::kExternal);
  EXPECT_EQ(r.devices.device_ids, (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(r.devices.distributed());
  EXPECT_EQ(r.devices.world_size, 4);
  EXPECT_EQ(r.devices.global_rank, 3);
  EXPECT_EQ(r.devices.local_rank, 1);
  EXPECT_EQ(r.devices.node_rank, 1);
  EXPECT_EQ(r.devices.master_addr, "10.0.0.1");
  EXPECT_EQ(r.devices.master_port, 29500);
}

TEST(AcceleratorConnector, ALauncherWorldSizeThatDevicesDoNotMatchIsLC0128) {
  const auto r = resolve({.devices = 3}, torchrun(0, 0, 2, 2));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, "LC0128");
  EXPECT_NE(r.text().find("torchrun started 2 processes, but devices x num_nodes is 3"), std::string::npos) << r.text();
  EXPECT_NE(r.text().find("use .devices = \"auto\" (or 2) and .num_nodes = 1"), std::string::npos) << r.text();
}

TEST(AcceleratorConnector, MalformedLauncherVariablesAreLC0129) {
  auto env = torchrun(0, 0, 2, 2);
  env.variables["RANK"] = "two";
  env.variables["MASTER_PORT"] = "70000";
  const auto r = resolve({.devices = 2}, env);
  ASSERT_EQ(r.problems.size(), 2u) << r.text();
  EXPECT_EQ(r.problems[0].code, "LC0129");
  EXPECT_NE(r.text().find("environment variable RANK is not valid for a process started by torchrun"),
            std::string::npos) << r.text();
  EXPECT_NE(r.text().find("--> environment variable MASTER_PORT"), std::string::npos) << r.text();
  EXPECT_NE(r.text().find("expected an integer in [1, 65535]"), std::string::npos) << r.text();
}

TEST(AcceleratorConnector, SlurmBatchJobsGiveRanksAndTheFirstNodeAsMaster) {
  Environment env = cpu_machine();
  env.variables = {{"SLURM_NTASKS", "4"},         {"SLURM_PROCID", "2"},   {"SLURM_LOCALID", "0"},
                   {"SLURM_NODEID", "1"},         {"SLURM_NTASKS_PER_NODE", "2"},
                   {"SLURM_NODELIST", "gpu[07-08]"}, {"SLURM_JOB_ID", "123456"}, {"SLURM_JOB_NAME", "train"}};
  const auto r = resolve({.num_nodes = 2}, env);
  EXPECT_TRUE(r.problems.empty()) << r.text();
  EXPECT_EQ(r.devices.launcher, Launcher::kSlurm);
  EXPECT_EQ(r.devices.world_size, 4);
  EXPECT_EQ(r.devices.global_rank, 2);
  EXPECT_EQ(r.devices.node_rank, 1);
  EXPECT_EQ(r.devices.master_addr, "gpu07");
  EXPECT_EQ(r.devices.master_port, 15000 + 123456 % 10000);
  // An interactive allocation (`salloc`, then a shell) is not a launcher.
  env.variables["SLURM_JOB_NAME"] = "bash";
  EXPECT_EQ(resolve({.num_nodes = 2}, env).problems.at(0).code, "LC0127");
}

TEST(AcceleratorConnector, StrategiesThatCannotWorkAreReportedWithTheFix) {
  auto r = resolve({.devices = 2, .strategy = "single_device"}, cpu_machine());
  EXPECT_EQ(r.problems.at(0).code, "LC0124");
  r = resolve({.strategy = "ddp_spawn"}, cpu_machine());
  EXPECT_EQ(r.problems.at(0).code, "LC0126");
  EXPECT_NE(r.text().find("strategy \"ddp_spawn\" starts processes through Python's multiprocessing"), std::string::npos);
  r = resolve({.num_nodes = 2}, cpu_machine());
  EXPECT_EQ(r.problems.at(0).code, "LC0127");
  EXPECT_NE(r.text().find("torchrun --no-python --nnodes=2 --nproc-per-node=1"), std::string::npos) << r.text();
}

TEST(AcceleratorConnector, LightningsFindUnusedParametersNamesAreDdpAndItsPythonLaunchedNamesLC0126) {
  for (const std::string name : {"ddp_find_unused_parameters_true", "ddp_find_unused_parameters_false"}) {
    const auto r = resolve({.devices = 2, .strategy = name}, cpu_machine());
    EXPECT_TRUE(r.problems.empty()) << name << ": " << r.text();
    EXPECT_TRUE(r.devices.ddp) << name;
    EXPECT_EQ(r.devices.world_size, 2) << name;
  }
  EXPECT_TRUE(resolve({.strategy = "ddp_find_unused_parameters_true"}, cpu_machine()).devices.ddp)
      << "a DDP name on one device keeps a process group of one, as \"ddp\" does";
  for (const std::string name : {"ddp_fork", "ddp_notebook", "ddp_spawn_find_unused_parameters_true"}) {
    const auto r = resolve({.strategy = name}, cpu_machine());
    ASSERT_EQ(r.problems.size(), 1u) << name;
    EXPECT_EQ(r.problems[0].code, "LC0126");
    EXPECT_EQ(r.problems[0].message,
              "strategy \"" + name + "\" starts processes through Python's multiprocessing, which a C++ program does "
              "not have");
  }
}

TEST(AcceleratorConnector, DDPStrategySettingsMustBePositiveLC0130) {
  auto r = resolve({.devices = 2, .strategy = DDPStrategy{.timeout = std::chrono::milliseconds(0)}}, cpu_machine());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, "LC0130");
  EXPECT_NE(r.text().find("DDPStrategy option `timeout` must be positive"), std::string::npos) << r.text();
  r = resolve({.devices = 2, .strategy = DDPStrategy{.bucket_cap_mb = -1}}, cpu_machine());
  EXPECT_NE(r.text().find("--> DDPStrategy({.bucket_cap_mb = ...})"), std::string::npos) << r.text();
  r = resolve({.devices = 2, .strategy = DDPStrategy{.timeout = std::chrono::seconds(5), .bucket_cap_mb = 1}}, cpu_machine());
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.devices.timeout, std::chrono::seconds(5));
  EXPECT_EQ(r.devices.bucket_bytes, 1 << 20);
  EXPECT_TRUE(r.devices.ddp);
}

TEST(AcceleratorConnector, TheProcessGroupBackendIsNcclOnCudaWhenLibTorchHasItElseGloo) {
  EXPECT_EQ(resolve({.devices = 2}, cpu_machine()).devices.process_group_backend, "gloo");
  EXPECT_EQ(resolve({.devices = 2}, gpu_machine(2)).devices.process_group_backend, "gloo");  // CUDA without NCCL
  Environment nccl = gpu_machine(2);
  nccl.nccl_built = true;
  EXPECT_EQ(resolve({.devices = 2}, nccl).devices.process_group_backend, "nccl");
  const auto gloo = resolve({.devices = 2, .strategy = DDPStrategy{.process_group_backend = "gloo"}}, nccl);
  EXPECT_TRUE(gloo.problems.empty()) << gloo.text();
  EXPECT_EQ(gloo.devices.process_group_backend, "gloo");
}

TEST(AcceleratorConnector, AnUnknownOrImpossibleProcessGroupBackendIsLC0132) {
  auto r = resolve({.devices = 2, .strategy = DDPStrategy{.process_group_backend = "ncl"}}, cpu_machine());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, "LC0132");
  EXPECT_NE(r.text().find("DDPStrategy option `process_group_backend` has an unknown value \"ncl\""), std::string::npos)
      << r.text();
  EXPECT_NE(r.text().find("did you mean \"nccl\"?"), std::string::npos) << r.text();

  r = resolve({.devices = 2, .strategy = DDPStrategy{.process_group_backend = "nccl"}}, cpu_machine());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, "LC0132");
  EXPECT_EQ(r.problems[0].message,
            "process_group_backend \"nccl\" communicates between CUDA devices; this trainer runs on the CPU");
  EXPECT_EQ(r.problems[0].where(), "DDPStrategy({.process_group_backend = ...})");
  EXPECT_EQ(r.problems[0].expected, "\"gloo\" on the CPU");

  r = resolve({.accelerator = "cuda", .devices = 2, .strategy = DDPStrategy{.process_group_backend = "nccl"}},
              gpu_machine(2));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, "LC0132");
  EXPECT_EQ(r.problems[0].message,
            "process_group_backend \"nccl\" is not in this LibTorch (or lightning-cpp was built without NCCL's header)");
  EXPECT_EQ(r.devices.process_group_backend, "gloo");
}

}  // namespace
}  // namespace lightning::detail
