// Data-parallel scaling on the Fashion-MNIST CNN: samples per second of one process against N
// processes (devices = N, one intra-op thread each), and the time of one allreduce of the CNN's
// gradients, measured on its own after training (docs/performance.md).
//
//   ddp_scaling <devices> [batches per rank] [bucket_cap_mb]
//
// With the default buckets the CNN's 0.8 MB of gradients fit one bucket, whose allreduce starts
// when backward ends; smaller buckets start during backward (bucket_cap_mb 0.1: 3 buckets, the
// classifier's while the convolutions' backward runs).

#include "fashion_cnn.h"

#include <lightning/demos/datamodules.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Times the training batches after the first `warmup` (loader start, first allocations): in all,
/// and each batch from its start to the next one's (the median resists this machine's noise).
struct Stopwatch : pl::Callback {
  int64_t warmup = 10;
  int64_t timed_batches = 0;
  Clock::time_point start, end, batch_start;
  std::vector<double> batch_ms;
  void on_train_batch_start(const pl::TrainerView&, pl::LightningModule&, const pl::Batch&, int64_t batch_idx) override {
    const auto now = Clock::now();
    if (batch_idx == warmup) start = now;
    if (batch_idx > warmup) batch_ms.push_back(std::chrono::duration<double, std::milli>(now - batch_start).count());
    if (batch_idx >= warmup) ++timed_batches;
    batch_start = now;
  }
  void on_train_end(const pl::TrainerView&, pl::LightningModule&) override { end = Clock::now(); }
  double seconds() const { return std::chrono::duration<double>(end - start).count(); }
  double median_batch_ms() {
    if (batch_ms.empty()) return 0;
    std::nth_element(batch_ms.begin(), batch_ms.begin() + batch_ms.size() / 2, batch_ms.end());
    return batch_ms[batch_ms.size() / 2];
  }
};

struct Run {
  double samples_per_s;
  double median_batch_ms;
  int global_rank;
  int world_size;
};

/// One allreduce of as many floats as the CNN has parameters: what averaging its gradients costs
/// per optimizer step when nothing overlaps it.
double allreduce_ms(const pl::TrainerView& view, int64_t parameters) {
  const at::Tensor gradients = at::randn({parameters});
  view.barrier();
  constexpr int kRepeats = 50;
  const auto start = Clock::now();
  for (int i = 0; i < kRepeats; ++i) view.all_reduce(gradients);
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / kRepeats;
}

/// One fit of `batches` per rank with gradients in buckets of `bucket_cap_mb`; with
/// `time_allreduce`, then times allreduce_ms (0 on one process).
Run fit_once(int devices, int64_t batches, double bucket_cap_mb, bool time_allreduce, double& allreduce) {
  pl::seed_everything(0);
  FashionCNN model;
  pl::demos::FashionMNISTDataModule data({.batch_size = 64, .num_workers = 0});  // no loader thread: 2 cores
  auto stopwatch = std::make_shared<Stopwatch>();
  pl::Trainer trainer({.max_epochs = 1, .devices = devices,
                       .strategy = devices > 1 ? pl::StrategyOption(pl::DDPStrategy{.bucket_cap_mb = bucket_cap_mb})
                                               : pl::StrategyOption("auto"),
                       .callbacks = {stopwatch}, .logger = false,
                       .limit_train_batches = batches, .limit_val_batches = 0, .num_sanity_val_steps = 0,
                       .enable_progress_bar = false, .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, data);
  const int world_size = trainer.view().world_size();
  if (time_allreduce && world_size > 1) {
    int64_t parameters = 0;
    for (const auto& p : model.parameters()) parameters += p.numel();
    allreduce = allreduce_ms(trainer.view(), parameters);
  }
  const double samples = static_cast<double>(stopwatch->timed_batches * 64 * world_size);
  return {samples / stopwatch->seconds(), stopwatch->median_batch_ms(), trainer.view().global_rank(), world_size};
}

double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int devices = argc > 1 ? std::atoi(argv[1]) : 1;
  const int64_t batches = argc > 2 ? std::atoll(argv[2]) : 200;
  std::vector<double> caps;
  for (std::stringstream list(argc > 3 ? argv[3] : "25"); list.good();) {
    std::string cap;
    std::getline(list, cap, ',');
    caps.push_back(std::stod(cap));
  }
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 1;
  at::set_num_threads(1);
  // The bucket sizes alternate, their order reversed every repetition, so that this machine's
  // slow spells fall on all of them alike.
  std::vector<std::vector<Run>> runs(caps.size());
  double allreduce = 0;
  for (int r = 0; r < repeats; ++r) {
    for (std::size_t k = 0; k < caps.size(); ++k) {
      const std::size_t c = r % 2 == 0 ? k : caps.size() - 1 - k;
      const bool last = r == repeats - 1 && k == caps.size() - 1;
      runs[c].push_back(fit_once(devices, batches, caps[c], last, allreduce));
    }
  }
  if (runs[0].back().global_rank != 0) return 0;
  for (std::size_t c = 0; c < caps.size(); ++c) {
    std::vector<double> throughput, batch_ms;
    for (const auto& run : runs[c]) {
      throughput.push_back(run.samples_per_s);
      batch_ms.push_back(run.median_batch_ms);
    }
    std::printf("devices %d, bucket_cap_mb %g: %.0f samples/s, median batch %.2f ms (medians of %d runs of %lld "
                "batches of 64 per rank; samples/s", devices, caps[c], median(throughput), median(batch_ms), repeats,
                static_cast<long long>(batches));
    for (double t : throughput) std::printf(" %.0f", t);
    std::printf(")\n");
  }
  if (runs[0].back().world_size > 1) std::printf("allreduce of the CNN's gradients alone: %.3f ms\n", allreduce);
  return 0;
}
