// A training program for the distributed tests: every process runs it whole, as with
// `devices = N` (lightning-cpp starts the copies) or torchrun.
//
//   ddp_worker <folder> <devices> <batch_size> <max_epochs> [ckpt_path]
//
// Each rank starts from its own random weights (seed 42 + rank), so only DDP's broadcast makes
// them equal; the data (96 samples with their ids) are the same everywhere. Each rank writes
// <folder>/rank<r>_ids.txt (the sample ids it trained on, in order); rank 0 writes
// <folder>/result.txt (the weights after fit, then the metrics, one "name value" per line).
//
// Environment variables that change the run:
//   DDP_WORKER_NUM_NODES=n           num_nodes (1 by default)
//   DDP_WORKER_BUCKET_MB=x           DDPStrategy's bucket_cap_mb (several buckets on this small model)
//   DDP_WORKER_TIMEOUT_S=n           DDPStrategy's timeout
//   DDP_WORKER_SLOW                  each step sleeps 50 ms; rank r writes <folder>/rank<r>.pid at its
//                                    first step (for the test that kills a rank)
//   DDP_WORKER_HANG                  rank 1 stops responding (sleeps 120 s) at its third step
//   DDP_WORKER_RANK1_EXIT=n          rank 1 ends with status n after everything else
//   DDP_WORKER_RANK0_BRANCH          a third layer that only rank 0's steps use
//   DDP_WORKER_RANK_WEIGHTS          every rank writes its weights at the start of training and after
//                                    fit (<folder>/rank<r>_weights_start.txt, rank<r>_weights.txt)
//   DDP_WORKER_RANK1_SKIP_AT=n       rank 1's step n returns no loss
//   DDP_WORKER_RANK1_ZERO_LOSS_AT=n  rank 1's step n returns its loss times zero
//   DDP_WORKER_RANK1_EXTRA_SYNC      rank 1 logs one more value with sync_dist in every step
//   DDP_WORKER_RANK1_EXTRA_SYNC_AT=n the same, at global step n only
//   DDP_WORKER_RANK1_MIN_AT=n        rank 1 logs "max_id" with reduce_fx "min" at global step n
//   DDP_WORKER_RANK1_NAN_LOSS        rank 1's loss is NaN
//   DDP_WORKER_RANK1_HIDDEN=n        rank 1's hidden layer has n units (8 elsewhere)
//   DDP_WORKER_RANK1_MAX_EPOCHS=n    rank 1's max_epochs
//   DDP_WORKER_RANK1_VALIDATE_SAMPLES=n  rank 1 validates the first n samples alone after fit
// A misconfiguration exits with status 2, reported by rank 0 only.

#include <lightning/lightning.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

namespace pl = lightning;

namespace {

/// The global step an environment variable names, or -1.
int64_t step_from_environment(const char* name) {
  const char* step = std::getenv(name);
  return step ? std::atoll(step) : -1;
}

int rank_from_environment() {
  const char* rank = std::getenv("RANK");
  return rank ? std::atoi(rank) : 0;
}

struct Worker : pl::LightningModule {
  torch::nn::Linear hidden{nullptr}, out{nullptr};
  std::string folder;
  bool slow = std::getenv("DDP_WORKER_SLOW") != nullptr;
  bool hang = std::getenv("DDP_WORKER_HANG") != nullptr;
  bool rank1_extra_sync = std::getenv("DDP_WORKER_RANK1_EXTRA_SYNC") != nullptr;
  bool rank1_nan_loss = std::getenv("DDP_WORKER_RANK1_NAN_LOSS") != nullptr;
  int64_t rank1_extra_sync_at = step_from_environment("DDP_WORKER_RANK1_EXTRA_SYNC_AT");
  int64_t rank1_skip_at = step_from_environment("DDP_WORKER_RANK1_SKIP_AT");
  int64_t rank1_zero_loss_at = step_from_environment("DDP_WORKER_RANK1_ZERO_LOSS_AT");
  int64_t rank1_min_at = step_from_environment("DDP_WORKER_RANK1_MIN_AT");
  bool rank_weights = std::getenv("DDP_WORKER_RANK_WEIGHTS") != nullptr;
  torch::nn::Linear rank0_branch{nullptr};
  std::vector<int64_t> trained_ids;

  Worker(std::string folder_, int64_t width) : folder(std::move(folder_)) {
    hidden = register_module("hidden", torch::nn::Linear(4, width));
    out = register_module("out", torch::nn::Linear(width, 2));
    if (std::getenv("DDP_WORKER_RANK0_BRANCH")) rank0_branch = register_module("rank0_branch", torch::nn::Linear(4, 2));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor y = out(hidden(x).tanh());
    if (rank0_branch && trainer().global_rank() == 0) y = y + rank0_branch(x);
    return y;
  }

  void on_train_start() override;

  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    if (slow && !trainer().probing()) {
      if (trainer().global_step() == 0) {
        std::ofstream(folder + "/rank" + std::to_string(trainer().global_rank()) + ".pid") << ::getpid();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (hang && !trainer().probing() && trainer().global_rank() == 1 && trainer().global_step() == 2) {
      std::this_thread::sleep_for(std::chrono::seconds(120));
    }
    const at::Tensor ids = batch[2];
    if (!trainer().probing()) {
      for (int64_t i = 0; i < ids.size(0); ++i) trained_ids.push_back(ids[i].item<int64_t>());
    }
    auto loss = torch::nn::functional::cross_entropy(forward(batch[0]), batch[1]);
    if (rank1_nan_loss && trainer().global_rank() == 1) loss = loss * std::numeric_limits<double>::quiet_NaN();
    log("train_loss", loss, {.sync_dist = true});
    const bool extra_now = rank1_at(rank1_extra_sync_at);
    if (extra_now || (rank1_extra_sync && trainer().global_rank() == 1)) log("rank1_only", loss, {.sync_dist = true});
    log("mean_id", ids.to(at::kDouble).mean(), {.on_epoch = true, .sync_dist = true});
    log("rank_mean_id", ids.to(at::kDouble).mean(), {.on_step = false, .on_epoch = true});
    log("max_id", ids.to(at::kDouble).max(),
        {.on_step = false, .on_epoch = true, .reduce_fx = rank1_at(rank1_min_at) ? "min" : "max", .sync_dist = true});
    // 10 on rank 0, 9 on rank 1: the ranks' minimum is another rank's value.
    log("min_rank_value", 10.0 - static_cast<double>(trainer().global_rank()),
        {.on_step = false, .on_epoch = true, .reduce_fx = "min", .sync_dist = true});
    if (rank1_at(rank1_skip_at)) return {};
    if (rank1_at(rank1_zero_loss_at)) return loss * 0.0;
    return loss;
  }
  /// Rank 1 is at global step `step` of training (never in the probe).
  bool rank1_at(int64_t step) const {
    return step >= 0 && !trainer().probing() && trainer().global_rank() == 1 && trainer().global_step() == step;
  }
  pl::StepOutput validation_step(const pl::Batch& batch, int64_t) override {
    const at::Tensor ids = batch[2];
    log("val_mean_id", ids.to(at::kDouble).mean(), {.sync_dist = true});
    return {};
  }
  pl::OptimizerConfig configure_optimizers() override {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.2));
  }
};

/// One "w <value>" line per parameter element, in parameter order.
void write_weights(Worker& model, std::ostream& out) {
  for (const auto& parameter : model.parameters()) {
    const at::Tensor flat = parameter.detach().flatten();
    for (int64_t i = 0; i < flat.numel(); ++i) {
      char text[32];
      std::snprintf(text, sizeof text, "%.9g", flat[i].item<double>());
      out << "w " << text << "\n";
    }
  }
}

void Worker::on_train_start() {
  if (!rank_weights) return;
  std::ofstream weights(folder + "/rank" + std::to_string(trainer().global_rank()) + "_weights_start.txt");
  write_weights(*this, weights);
}

}  // namespace

int run(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: ddp_worker <folder> <devices> <batch_size> <max_epochs> [ckpt_path]\n");
    return 2;
  }
  const std::string folder = argv[1];
  const std::string devices = argv[2];
  const int64_t batch_size = std::stoll(argv[3]);
  int64_t max_epochs = std::stoll(argv[4]);
  int64_t width = 8;
  if (rank_from_environment() == 1) {
    if (const char* n = std::getenv("DDP_WORKER_RANK1_HIDDEN")) width = std::atoll(n);
    if (const char* n = std::getenv("DDP_WORKER_RANK1_MAX_EPOCHS")) max_epochs = std::atoll(n);
  }

  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  const at::Tensor x = at::randn({96, 4}, generator);
  const at::Tensor y = (x.sum(1) > 0).to(at::kLong);
  const at::Tensor ids = at::arange(96, at::kLong);
  auto train = pl::DataLoader(pl::TensorDataset(x, y, ids), {.batch_size = batch_size, .shuffle = true, .seed = 3});
  auto val = pl::DataLoader(pl::TensorDataset(x, y, ids), {.batch_size = batch_size});

  const char* num_nodes = std::getenv("DDP_WORKER_NUM_NODES");
  const char* bucket_mb = std::getenv("DDP_WORKER_BUCKET_MB");
  const char* timeout_s = std::getenv("DDP_WORKER_TIMEOUT_S");
  pl::DDPStrategy ddp;
  if (bucket_mb) ddp.bucket_cap_mb = std::atof(bucket_mb);
  if (timeout_s) ddp.timeout = std::chrono::seconds(std::atoi(timeout_s));
  pl::seed_everything(42 + static_cast<uint64_t>(rank_from_environment()));
  Worker model(folder, width);
  pl::Trainer trainer({.max_epochs = max_epochs,
                       .devices = devices == "auto" ? pl::Devices("auto") : pl::Devices(std::stoi(devices)),
                       .strategy = bucket_mb || timeout_s ? pl::StrategyOption(ddp) : pl::StrategyOption("auto"),
                       .num_nodes = num_nodes ? std::atoll(num_nodes) : 1,
                       .num_sanity_val_steps = 0,
                       .enable_progress_bar = false,
                       .enable_model_summary = false,
                       .default_root_dir = folder});
  trainer.fit(model, train, val, argc == 6 ? argv[5] : "");
  // Every rank's rank, gathered on every rank.
  const at::Tensor ranks = trainer.view().all_gather(at::tensor({static_cast<int64_t>(trainer.view().global_rank())}));
  trainer.view().barrier();
  const char* validate_samples = std::getenv("DDP_WORKER_RANK1_VALIDATE_SAMPLES");
  const int64_t n = validate_samples && rank_from_environment() == 1 ? std::atoll(validate_samples) : x.size(0);
  const auto validated = trainer.validate(
      model, pl::DataLoader(pl::TensorDataset(x.narrow(0, 0, n), y.narrow(0, 0, n), ids.narrow(0, 0, n)),
                            {.batch_size = batch_size}));

  std::ofstream ids_file(folder + "/rank" + std::to_string(trainer.view().global_rank()) + "_ids.txt");
  for (int64_t id : model.trained_ids) ids_file << id << "\n";
  if (const char* status = std::getenv("DDP_WORKER_RANK1_EXIT"); status && trainer.view().global_rank() == 1) {
    return std::atoi(status);
  }
  if (model.rank_weights) {
    std::ofstream weights(folder + "/rank" + std::to_string(trainer.view().global_rank()) + "_weights.txt");
    write_weights(model, weights);
  }
  if (!trainer.view().is_global_zero()) return 0;
  std::ofstream result(folder + "/result.txt");
  write_weights(model, result);
  result.precision(17);
  for (const auto& [name, value] : trainer.callback_metrics()) result << name << " " << value << "\n";
  result << "validate_val_mean_id " << validated.at(0).at("val_mean_id") << "\n";
  result << "world_size " << trainer.view().world_size() << "\n";
  result << "bucket_cap_mb " << trainer.options().strategy.ddp().bucket_cap_mb << "\n";
  for (int64_t r = 0; r < ranks.size(0); ++r) result << "gathered_rank_" << r << " " << ranks[r].item<int64_t>() << "\n";
  result << "global_step " << trainer.global_step() << "\n";
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const pl::MisconfigurationException& error) {
    if (rank_from_environment() == 0) std::fprintf(stderr, "%s\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ddp_worker: %s\n", error.what());
    return 1;
  }
}
