// Data-parallel training in real processes over loopback (ddp_worker.cpp is the program they
// run): two ranks against one process on the union of their batches, the samplers' shares,
// sync_dist, rank-zero files, torchrun, a rank that dies, and rendezvous failures.

#include "support/support.h"

#include <lightning/lightning.h>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace lightning {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct Outcome {
  int status = -1;
  std::string err;
};

/// `command` under GNU timeout (SIGTERM at the limit, SIGKILL 5 s later; the ranks rank 0 started
/// die with it), its stdout discarded and its stderr kept in `err`.
std::string fmt_command(const std::string& command, const std::string& err, int seconds) {
  return "timeout -k 5 " + std::to_string(seconds) + " " + command + " > /dev/null 2> " + err;
}

/// A socket bound to a loopback port of the kernel's choice, which `port` receives.
int loopback_socket(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

/// A loopback port nothing listens on (the kernel's choice, released at once).
int free_port() {
  int port = 0;
  ::close(loopback_socket(port));
  return port;
}

std::string fmt_rank1_killed(pid_t pid) {
  return "rank 1 (pid " + std::to_string(pid) + ") was killed by signal 9";
}

/// Sets launcher variables for the length of a test, as torchrun would have.
class LauncherVariables {
 public:
  explicit LauncherVariables(std::map<std::string, std::string> variables) : variables_(std::move(variables)) {
    for (const auto& [name, value] : variables_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~LauncherVariables() {
    for (const auto& [name, value] : variables_) ::unsetenv(name.c_str());
  }

 private:
  std::map<std::string, std::string> variables_;
};

MisconfigurationException fit_error(Trainer& trainer) {
  testing::BoringModel model;
  try {
    trainer.fit(model, testing::random_loader(8, 4));
  } catch (const MisconfigurationException& e) {
    return e;
  }
  ADD_FAILURE() << "expected a MisconfigurationException";
  return MisconfigurationException({});
}

TrainerOptions quiet(std::chrono::milliseconds timeout) {
  return {.max_epochs = 1, .devices = 2, .strategy = DDPStrategy{.timeout = timeout}, .logger = false,
          .enable_progress_bar = false, .enable_model_summary = false, .enable_checkpointing = false};
}

/// Runs `command` with a hard time limit (every process it started is killed at the limit).
Outcome run_bounded(const std::string& command, const TempDir& dir, int seconds) {
  const std::string err = dir / "stderr.txt";
  const int raw = std::system(fmt_command(command, err, seconds).c_str());
  Outcome run;
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(err);
  run.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return run;
}

struct Result {
  std::vector<double> weights;
  std::map<std::string, double> metrics;
};

Result read_result(const std::string& path) {
  Result result;
  std::ifstream in(path);
  std::string name;
  double value = 0;
  while (in >> name >> value) {
    if (name == "w") {
      result.weights.push_back(value);
    } else {
      result.metrics[name] = value;
    }
  }
  return result;
}

std::vector<int64_t> read_ids(const std::string& path) {
  std::ifstream in(path);
  std::vector<int64_t> ids;
  for (int64_t id = 0; in >> id;) ids.push_back(id);
  return ids;
}

std::string worker(const TempDir& dir, const std::string& devices, int batch_size, int epochs,
                   const std::string& ckpt_path = "") {
  return std::string(LIGHTNING_DDP_WORKER) + " " + dir.path().string() + " " + devices + " " +
         std::to_string(batch_size) + " " + std::to_string(epochs) + (ckpt_path.empty() ? "" : " " + ckpt_path);
}

/// The largest difference between two runs' weights (infinite when their shapes differ).
double largest_difference(const Result& a, const Result& b) {
  if (a.weights.empty() || a.weights.size() != b.weights.size()) return std::numeric_limits<double>::infinity();
  double largest = 0;
  for (std::size_t i = 0; i < a.weights.size(); ++i) largest = std::max(largest, std::abs(a.weights[i] - b.weights[i]));
  return largest;
}

/// One epoch with `devices = 2` and batches of 8, run once for every test that compares with it or
/// inspects its files.
struct ReferenceRun {
  TempDir dir;
  Outcome outcome;
  Result result;
};
const ReferenceRun& reference_run() {
  static const ReferenceRun* run = [] {
    auto* made = new ReferenceRun;  // lives as long as the test program
    made->outcome = run_bounded(worker(made->dir, "2", 8, 1), made->dir, 120);
    made->result = read_result(made->dir / "result.txt");
    return made;
  }();
  return *run;
}

/// The run in `theirs` (launched some other way) trained as the reference run did, in two ranks.
void expect_same_as_reference(const TempDir& theirs) {
  const auto b = read_result(theirs / "result.txt");
  EXPECT_LT(largest_difference(reference_run().result, b), 1e-7);
  EXPECT_EQ(b.metrics.at("world_size"), 2);
}

TEST(DDP, TwoRanksEqualOneProcessOnTheUnionOfTheirBatches) {
  TempDir ddp, single;
  const Outcome two = run_bounded(worker(ddp, "2", 8, 2), ddp, 120);
  ASSERT_EQ(two.status, 0) << two.err;
  const Outcome one = run_bounded(worker(single, "1", 16, 2), single, 120);
  ASSERT_EQ(one.status, 0) << one.err;
  const auto a = read_result(ddp / "result.txt"), b = read_result(single / "result.txt");
  ASSERT_EQ(a.weights.size(), 58u);  // 4x8 + 8 + 8x2 + 2
  EXPECT_LT(largest_difference(a, b), 1e-5) << "the ranks started from different random weights; only rank 0's broadcast, "
                              "averaged gradients and disjoint shares make them train like one process";
  EXPECT_EQ(a.metrics.at("world_size"), 2);
  EXPECT_EQ(a.metrics.at("gathered_rank_0"), 0) << "all_gather, in rank order";
  EXPECT_EQ(a.metrics.at("gathered_rank_1"), 1);
  EXPECT_EQ(b.metrics.count("gathered_rank_1"), 0u);
  EXPECT_EQ(a.metrics.at("global_step"), 12);  // 96 samples, 48 per rank, 6 batches of 8, 2 epochs
  EXPECT_EQ(b.metrics.at("global_step"), 12);
}

TEST(DDP, GradientsAveragedInSeveralBucketsDuringBackwardGiveTheSameWeights) {
  // 100-byte buckets: out's weight and bias and hidden's bias in the first, hidden's weight in a
  // second, whose allreduce starts only when backward reaches the first layer.
  const LauncherVariables small_buckets(std::map<std::string, std::string>{{"DDP_WORKER_BUCKET_MB", "0.0001"}});
  TempDir ddp;
  const Outcome two = run_bounded(worker(ddp, "2", 8, 1), ddp, 120);
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_EQ(read_result(ddp / "result.txt").metrics.at("bucket_cap_mb"), 0.0001) << "the small buckets were used";
  expect_same_as_reference(ddp);
}

TEST(DDP, ALayerOnlyOneRankUsesTrainsAlikeOnEveryRank) {
  // rank0_branch (4x2 + 2 weights, the last parameters) is in rank 0's steps only: rank 1 has no
  // gradient for it, gets rank 0's halved, and steps it as rank 0 does.
  const LauncherVariables branch(
      std::map<std::string, std::string>{{"DDP_WORKER_RANK0_BRANCH", "1"}, {"DDP_WORKER_RANK_WEIGHTS", "1"}});
  TempDir ddp;
  const Outcome two = run_bounded(worker(ddp, "2", 8, 1), ddp, 120);
  ASSERT_EQ(two.status, 0) << two.err;
  const auto start = read_result(ddp / "rank0_weights_start.txt").weights;
  const auto rank0 = read_result(ddp / "rank0_weights.txt").weights;
  const auto rank1 = read_result(ddp / "rank1_weights.txt").weights;
  ASSERT_EQ(rank0.size(), 58u + 10u);
  EXPECT_EQ(read_result(ddp / "rank1_weights_start.txt").weights, start) << "rank 0's weights were broadcast";
  EXPECT_EQ(rank1, rank0) << "the ranks' weights parted: rank 1 did not step the layer it does not use";
  const std::vector<double> branch_start(start.end() - 10, start.end()), branch_end(rank0.end() - 10, rank0.end());
  EXPECT_NE(branch_end, branch_start) << "the branch trained";
}

TEST(DDP, AStepOnlyRankOneSkipsAveragesRankZerosGradientWithNoneAndEveryRankStepsAlike) {
  // Rank 1's step 2 returns no loss: it joins the gradient exchange with nothing, so the average
  // is rank 0's gradient halved, as when rank 1's loss is zero; both ranks step with it.
  const auto run = [](const std::string& variable) {
    const LauncherVariables variables(
        std::map<std::string, std::string>{{variable, "2"}, {"DDP_WORKER_RANK_WEIGHTS", "1"}});
    auto dir = std::make_unique<TempDir>();
    const Outcome two = run_bounded(worker(*dir, "2", 8, 1), *dir, 120);
    EXPECT_EQ(two.status, 0) << two.err;
    return dir;
  };
  const auto skipped = run("DDP_WORKER_RANK1_SKIP_AT");
  const auto zeroed = run("DDP_WORKER_RANK1_ZERO_LOSS_AT");
  const auto rank0 = read_result(*skipped / "rank0_weights.txt");
  EXPECT_EQ(read_result(*skipped / "rank1_weights.txt").weights, rank0.weights) << "the ranks' weights parted";
  EXPECT_LT(largest_difference(rank0, read_result(*zeroed / "rank0_weights.txt")), 1e-7);
  EXPECT_GT(largest_difference(rank0, reference_run().result), 1e-4) << "rank 1's skip changed the training";
  EXPECT_EQ(read_result(*skipped / "result.txt").metrics.at("global_step"), 6) << "every batch stepped";
}

TEST(DDP, EveryRankResumesFromTheCheckpointAndTrainsAsWithoutTheStop) {
  TempDir straight, first, resumed;
  ASSERT_EQ(run_bounded(worker(straight, "2", 8, 2), straight, 120).status, 0);
  ASSERT_EQ(run_bounded(worker(first, "2", 8, 1), first, 120).status, 0);
  const std::string checkpoint = first / "lightning_logs/version_0/checkpoints/epoch=0-step=6.ckpt";
  const Outcome run = run_bounded(worker(resumed, "2", 8, 2, checkpoint), resumed, 120);
  ASSERT_EQ(run.status, 0) << run.err;
  const auto a = read_result(straight / "result.txt"), b = read_result(resumed / "result.txt");
  EXPECT_EQ(b.metrics.at("global_step"), 12);
  EXPECT_LT(largest_difference(a, b), 1e-7);
  // Rank 1 went on from epoch 1 too: it saw the second epoch's half only.
  const auto rank1 = read_ids(resumed / "rank1_ids.txt"), rank1_straight = read_ids(straight / "rank1_ids.txt");
  EXPECT_EQ(rank1, std::vector<int64_t>(rank1_straight.begin() + 48, rank1_straight.end()));
}

TEST(DDP, TheSamplersGiveEachRankADisjointHalfOfEveryEpoch) {
  TempDir dir;
  const Outcome run = run_bounded(worker(dir, "2", 8, 2), dir, 120);
  ASSERT_EQ(run.status, 0) << run.err;
  const auto rank0 = read_ids(dir / "rank0_ids.txt"), rank1 = read_ids(dir / "rank1_ids.txt");
  ASSERT_EQ(rank0.size(), 96u);
  ASSERT_EQ(rank1.size(), 96u);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::set<int64_t> seen;
    for (int k = 0; k < 48; ++k) {
      seen.insert(rank0[static_cast<std::size_t>(epoch * 48 + k)]);
      seen.insert(rank1[static_cast<std::size_t>(epoch * 48 + k)]);
    }
    EXPECT_EQ(seen.size(), 96u) << "epoch " << epoch << ": the shares overlap or miss samples";
  }
  EXPECT_NE(std::vector<int64_t>(rank0.begin(), rank0.begin() + 48), std::vector<int64_t>(rank0.begin() + 48, rank0.end()))
      << "a new order each epoch";
}

TEST(DDP, SyncDistMetricsAreTheMeansOverEveryRanksSamples) {
  const auto& [dir, run, result] = reference_run();
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_DOUBLE_EQ(result.metrics.at("mean_id_epoch"), 47.5) << "the mean of ids 0..95";
  EXPECT_DOUBLE_EQ(result.metrics.at("max_id"), 95);
  EXPECT_DOUBLE_EQ(result.metrics.at("min_rank_value"), 9) << "rank 1's 9, the smaller of 10 and 9";
  EXPECT_DOUBLE_EQ(result.metrics.at("val_mean_id"), 47.5);
  EXPECT_DOUBLE_EQ(result.metrics.at("validate_val_mean_id"), 47.5);
  // Without sync_dist, rank 0 keeps the mean of its own half.
  const auto rank0 = read_ids(dir / "rank0_ids.txt");
  double own = 0;
  for (int64_t id : rank0) own += static_cast<double>(id);
  EXPECT_DOUBLE_EQ(result.metrics.at("rank_mean_id"), own / static_cast<double>(rank0.size()));
  EXPECT_NE(result.metrics.at("rank_mean_id"), 47.5);
  // ... and is told so before training, once (rank 0 prints it).
  const std::string warning = "warning[LC0343]: \"rank_mean_id\" logged on epoch level without sync_dist in a run of 2 "
                              "processes: each rank keeps the value of its own share of the data";
  const auto at = run.err.find(warning);
  EXPECT_NE(at, std::string::npos) << run.err;
  EXPECT_EQ(run.err.find(warning, at + 1), std::string::npos) << run.err;
  TempDir single;
  const Outcome one = run_bounded(worker(single, "1", 16, 1), single, 120);
  EXPECT_EQ(one.err.find("LC0343"), std::string::npos) << "no warning in one process";
}

TEST(DDP, OnlyRankZeroWritesLogsAndCheckpoints) {
  const auto& [dir, run, result] = reference_run();
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(testing::files_in(dir.path() / "lightning_logs"), std::vector<std::string>{"version_0"});
  EXPECT_EQ(testing::files_in(dir.path() / "lightning_logs/version_0/checkpoints"),
            std::vector<std::string>{"epoch=0-step=6.ckpt"});
}

TEST(DDP, TorchrunGivesTheSameResultAsDevicesTwo) {
  const auto& ours = reference_run();
  ASSERT_EQ(ours.outcome.status, 0) << ours.outcome.err;
  TempDir theirs;
  // Debian's torchrun (PyTorch 1.13 on Python 3.11) fails on its default --redirects/--tee of 0
  // (Python 3.11 no longer lists an IntFlag's zero member); 2 (stderr) avoids it.
  const Outcome run = run_bounded("torchrun --no_python --nproc_per_node=2 --redirects 2 --tee 2 --master_port=" +
                                      std::to_string(free_port()) + " " + worker(theirs, "auto", 8, 1),
                                  theirs, 180);
  ASSERT_EQ(run.status, 0) << run.err;
  expect_same_as_reference(theirs);
  EXPECT_EQ(read_ids(ours.dir / "rank1_ids.txt"), read_ids(theirs / "rank1_ids.txt"));
}

/// Two commands at once, each under the time bound; returns their exit statuses.
std::pair<int, int> run_pair(const std::string& first, const std::string& second, const TempDir& dir, int seconds) {
  const std::string both = fmt_command(first, dir / "stderr0.txt", seconds) + " & p=$!; " +
                           fmt_command(second, dir / "stderr1.txt", seconds) + " & q=$!; wait $p; a=$?; wait $q; b=$?; " +
                           "echo $a $b > " + dir / "statuses.txt";
  std::system(("bash -c '" + both + "'").c_str());
  std::pair<int, int> statuses{-1, -1};
  std::ifstream(dir / "statuses.txt") >> statuses.first >> statuses.second;
  return statuses;
}

TEST(DDP, TwoNodesOfTorchrunOnLoopbackGiveTheSameResultAsDevicesTwo) {
  const auto& ours = reference_run();
  ASSERT_EQ(ours.outcome.status, 0) << ours.outcome.err;
  TempDir theirs;
  const std::string node = "env DDP_WORKER_NUM_NODES=2 torchrun --no_python --nnodes=2 --nproc_per_node=1 "
                           "--redirects 2 --tee 2 --master_addr=127.0.0.1 --master_port=" +
                           std::to_string(free_port()) + " --node_rank=";
  const auto [node0, node1] = run_pair(node + "0 " + worker(theirs, "auto", 8, 1), node + "1 " + worker(theirs, "auto", 8, 1),
                                       theirs, 180);
  ASSERT_EQ(node0, 0);
  ASSERT_EQ(node1, 0);
  expect_same_as_reference(theirs);
}

TEST(DDP, ASlurmJobsTasksGiveTheSameResultAsDevicesTwo) {
  const auto& ours = reference_run();
  ASSERT_EQ(ours.outcome.status, 0) << ours.outcome.err;
  TempDir theirs;
  // What srun sets for a two-task job on one node (no SLURM on this machine).
  const std::string task = "env SLURM_JOB_NAME=train SLURM_JOB_ID=4242 SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 "
                           "SLURM_NODEID=0 SLURM_NODELIST=127.0.0.1 MASTER_PORT=" +
                           std::to_string(free_port()) + " SLURM_PROCID=";
  const auto [task0, task1] = run_pair(task + "0 SLURM_LOCALID=0 " + worker(theirs, "auto", 8, 1),
                                       task + "1 SLURM_LOCALID=1 " + worker(theirs, "auto", 8, 1), theirs, 120);
  ASSERT_EQ(task0, 0);
  ASSERT_EQ(task1, 0);
  expect_same_as_reference(theirs);
}

TEST(DDP, ARankThatDiesStopsTheRunWithItsNameAndLeavesNoProcess) {
  TempDir dir;
  const std::string err = dir / "stderr.txt";
  const std::string command = "env DDP_WORKER_SLOW=1 " + worker(dir, "2", 8, 1000) + " 2> " + err;
  const pid_t rank0 = ::fork();
  if (rank0 == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait for rank 1's first step, then kill it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(dir / "rank1.pid") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  pid_t rank1 = 0;
  std::ifstream(dir / "rank1.pid") >> rank1;
  ASSERT_GT(rank1, 0) << "rank 1 never started";
  ASSERT_EQ(::kill(rank1, SIGKILL), 0);
  // Rank 0 must notice, name rank 1 and exit non-zero, well within the test's bound.
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 600 && !ended; ++i) {
    ended = ::waitpid(rank0, &status, WNOHANG) == rank0;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!ended) {
    ::kill(rank0, SIGKILL);
    ::waitpid(rank0, &status, 0);
  }
  ASSERT_TRUE(ended) << "rank 0 did not stop within 30 s";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  std::ifstream in(err);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(fmt_rank1_killed(rank1)), std::string::npos) << text;
  EXPECT_NE(::kill(rank1, 0), 0) << "rank 1 is gone, reaped by rank 0";
}

TEST(DDP, ARankThatHangsStopsTheRunAfterTheTimeoutWithItsNameAndLeavesNoProcess) {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  // Rank 1 sleeps 120 s at its third step; the DDPStrategy timeout is 5 s (the rendezvous, under
  // the same timeout, must not fail first on a loaded machine).
  const Outcome run = run_bounded("env DDP_WORKER_SLOW=1 DDP_WORKER_HANG=1 DDP_WORKER_TIMEOUT_S=5 " + worker(dir, "2", 8, 1),
                                  dir, 60);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(run.status, 1) << run.err;
  EXPECT_NE(run.err.find("rank 1 did not reach collective #"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("within the timeout of 5 s (hung, much slower than the others, or died), so the run stopped"),
            std::string::npos)
      << run.err;
  EXPECT_LT(seconds, 30) << "5 s of timeout and 2 s of grace, not the 120 s rank 1 sleeps";
  pid_t rank1 = 0;
  std::ifstream(dir / "rank1.pid") >> rank1;
  ASSERT_GT(rank1, 0) << "rank 1 never started";
  EXPECT_NE(::kill(rank1, 0), 0) << "rank 1 was ended by rank 0";
}

TEST(DDP, RankZeroExitsWithStatusOneWhenARankItStartedFailedAfterTraining) {
  TempDir dir;
  const Outcome run = run_bounded("env DDP_WORKER_RANK1_EXIT=3 " + worker(dir, "2", 8, 1), dir, 120);
  EXPECT_EQ(run.status, 1) << run.err;
  EXPECT_NE(run.err.find("lightning-cpp: rank 1 (pid "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(") exited with status 3"), std::string::npos) << run.err;
  EXPECT_TRUE(fs::exists(dir / "result.txt")) << "rank 0 itself finished";
}

/// ddp_worker processes still running with `dir` as their folder (each rank's first argument).
int workers_in(const TempDir& dir) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline");
    std::string program, folder;
    if (std::getline(in, program, '\0') && std::getline(in, folder, '\0') && folder == dir.path().string() &&
        program.ends_with("ddp_worker")) {
      ++count;
    }
  }
  return count;
}

/// A two-rank run, with `variables` set, that a misconfiguration stops before training: exit
/// status 2, no rank trained, no worker left. Returns what it printed.
std::string misconfigured_run(const std::string& variables) {
  TempDir dir;
  const Outcome run = run_bounded("env " + variables + " " + worker(dir, "2", 8, 1), dir, 120);
  EXPECT_EQ(run.status, 2) << run.err;
  EXPECT_FALSE(fs::exists(dir / "rank0_ids.txt")) << "no rank trained";
  EXPECT_EQ(workers_in(dir), 0);
  return run.err;
}

TEST(DDP, AMistakeOnlyRankOneFindsStopsEveryRankBeforeTrainingAndRankZeroReportsIt) {
  const std::string err = misconfigured_run("DDP_WORKER_RANK1_NAN_LOSS=1");
  EXPECT_NE(err.find("error[LC0324]: `training_step` returned a non-finite loss on the first batch (on rank 1)\n"
                     "  --> training_step, batch 0\n   = received: nan"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("1 error found before training started"), std::string::npos) << err;
}

TEST(DDP, AValueOnlyRankOneLogsWithSyncDistIsLC0344BeforeTraining) {
  const std::string err = misconfigured_run("DDP_WORKER_RANK1_EXTRA_SYNC=1");
  EXPECT_NE(err.find("error[LC0344]: the ranks' steps make different sync_dist log calls (they part at "
                     "\"rank1_only\")"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("= received: rank 0: \"train_loss\" (mean), \"mean_id\" (mean), \"max_id\" (max), "
                     "\"min_rank_value\" (min), \"val_mean_id\" (mean); rank 1: \"train_loss\" (mean), "
                     "\"rank1_only\" (mean), \"mean_id\" (mean), \"max_id\" (max), \"min_rank_value\" (min), "
                     "\"val_mean_id\" (mean)"),
            std::string::npos)
      << err;
}

TEST(DDP, RanksStartedWithOtherOptionsOrAnotherModuleAreLC0133AndLC0134BeforeTraining) {
  const std::string err = misconfigured_run("DDP_WORKER_RANK1_HIDDEN=16 DDP_WORKER_RANK1_MAX_EPOCHS=3");
  EXPECT_NE(err.find("error[LC0133]: max_epochs differs between the ranks: each rank must run the same steps, or "
                     "the others wait for it at a collective or train other weights\n"
                     "  --> Trainer({.max_epochs = ...})\n   = received: rank 0: 1; rank 1: 3"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("error[LC0134]: the ranks built different modules: 3 parameters or buffers differ in shape "
                     "or dtype, so the ranks cannot train or evaluate as one\n"
                     "  --> the module's parameters\n"
                     "   = received: hidden.weight: rank 0: [8, 4] Float; rank 1: [16, 4] Float; hidden.bias: "
                     "rank 0: [8] Float; rank 1: [16] Float; out.weight: rank 0: [2, 8] Float; rank 1: [2, 16] "
                     "Float\n"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("2 errors found before training started"), std::string::npos) << err;
}

TEST(DDP, AValidationWithFewerBatchesOnOneRankIsLC0133BeforeItsFirstBatch) {
  // After fit, rank 1 validates 64 of the 96 samples: 4 batches of 8 per rank against rank 0's 6.
  TempDir dir;
  const Outcome run = run_bounded("env DDP_WORKER_RANK1_VALIDATE_SAMPLES=64 " + worker(dir, "2", 8, 1), dir, 120);
  EXPECT_EQ(run.status, 2) << run.err;
  EXPECT_NE(run.err.find("error[LC0133]: the number of batches of dataloaders differs between the ranks: each rank "
                         "must run the same steps, or the others wait for it at a collective or train other weights\n"
                         "  --> dataloaders\n   = received: rank 0: 6; rank 1: 4"),
            std::string::npos)
      << run.err;
  EXPECT_FALSE(fs::exists(dir / "result.txt")) << "rank 0 stopped at validate";
  EXPECT_EQ(workers_in(dir), 0);
}

/// A two-rank run, with `variables` set, whose sync_dist calls part during training: every rank
/// stops at that call (exit status 1), no rank is blamed for exiting, no result is written, no
/// worker is left. Returns what it printed.
std::string parted_sync_run(const std::string& variables) {
  TempDir dir;
  const Outcome run = run_bounded("env " + variables + " " + worker(dir, "2", 8, 1), dir, 120);
  EXPECT_EQ(run.status, 1) << run.err;
  EXPECT_EQ(run.err.find("exited with status"), std::string::npos) << "no rank is blamed: " << run.err;
  EXPECT_FALSE(fs::exists(dir / "result.txt"));
  EXPECT_EQ(workers_in(dir), 0);
  return run.err;
}

TEST(DDP, ASyncDistValueOnlyRankOneLogsLaterStopsEveryRankAtThatCallNamingEachRanksCall) {
  const std::string err = parted_sync_run("DDP_WORKER_RANK1_EXTRA_SYNC_AT=3");
  EXPECT_NE(err.find("ddp_worker: the ranks' sync_dist log calls parted at global step 3: rank 0 logged "
                     "\"mean_id\" (mean), rank 1 logged \"rank1_only\" (mean). Each is a collective"),
            std::string::npos)
      << err;
}

TEST(DDP, AMaxCallMetByAMinCallStopsEveryRank) {
  // Rank 1 logs "max_id" with reduce_fx "min" at step 3: the same key, another reduction.
  const std::string err = parted_sync_run("DDP_WORKER_RANK1_MIN_AT=3");
  EXPECT_NE(err.find("the ranks' sync_dist log calls parted at global step 3: rank 0 logged \"max_id\" (max), "
                     "rank 1 logged \"max_id\" (min)."),
            std::string::npos)
      << err;
}

/// Fit as rank `rank` of a two-rank run meeting at 127.0.0.1:`port`, with `timeout`: the LC0131
/// text it ends with, within a bound well above the timeout.
std::string rendezvous_error(int rank, const std::string& port, std::chrono::seconds timeout) {
  LauncherVariables variables({{"LOCAL_RANK", std::to_string(rank)}, {"RANK", std::to_string(rank)},
                               {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}});
  Trainer trainer(quiet(timeout));
  const auto started = std::chrono::steady_clock::now();
  const auto e = fit_error(trainer);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  EXPECT_EQ(trainer.global_step(), 0);
  EXPECT_EQ(e.diagnostics().size(), 1u) << e.what();
  EXPECT_TRUE(e.has("LC0131")) << e.what();
  return e.what();
}

TEST(DDP, ARankThatNeverArrivesIsLC0131AfterTheTimeout) {
  const auto text = rendezvous_error(0, std::to_string(free_port()), std::chrono::seconds(1));
  EXPECT_NE(text.find("the 2 ranks did not all join the process group within 1 s"), std::string::npos) << text;
}

TEST(DDP, ARendezvousPortInUseIsLC0131BeforeTraining) {
  int port = 0;
  const int fd = loopback_socket(port);
  ASSERT_EQ(::listen(fd, 1), 0);
  const auto text = rendezvous_error(0, std::to_string(port), std::chrono::seconds(2));
  ::close(fd);
  EXPECT_NE(text.find("rank 0 cannot serve the rendezvous at 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << text;
}

TEST(DDP, AnUnreachableMasterIsLC0131AfterTheTimeout) {
  const std::string port = std::to_string(free_port());
  const auto text = rendezvous_error(1, port, std::chrono::seconds(1));
  EXPECT_NE(text.find("rank 1 cannot reach the rendezvous at 127.0.0.1:" + port), std::string::npos) << text;
}

}  // namespace
}  // namespace lightning
