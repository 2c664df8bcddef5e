// Data-parallel scaling on the Fashion-MNIST CNN: samples per second of one process against N
// processes (devices = N, one intra-op thread each), and the time of one allreduce of the CNN's
// gradients, measured on its own after training (docs/performance.md).
//
//   ddp_scaling <devices> [batches per rank]

#include "fashion_cnn.h"

#include <lightning/demos/datamodules.h>

#include <chrono>
#include <cstdio>

namespace {

using Clock = std::chrono::steady_clock;

/// Times the training batches after the first `warmup` (loader start, first allocations).
struct Stopwatch : pl::Callback {
  int64_t warmup = 10;
  int64_t timed_batches = 0;
  Clock::time_point start, end;
  void on_train_batch_start(const pl::TrainerView&, pl::LightningModule&, const pl::Batch&, int64_t batch_idx) override {
    if (batch_idx == warmup) start = Clock::now();
    if (batch_idx >= warmup) ++timed_batches;
  }
  void on_train_end(const pl::TrainerView&, pl::LightningModule&) override { end = Clock::now(); }
  double seconds() const { return std::chrono::duration<double>(end - start).count(); }
};

}  // namespace

int main(int argc, char** argv) {
  const int devices = argc > 1 ? std::atoi(argv[1]) : 1;
  const int64_t batches = argc > 2 ? std::atoll(argv[2]) : 200;
  at::set_num_threads(1);
  pl::seed_everything(0);
  FashionCNN model;
  pl::demos::FashionMNISTDataModule data({.batch_size = 64, .num_workers = 0});  // no loader thread: 2 cores
  auto stopwatch = std::make_shared<Stopwatch>();
  pl::Trainer trainer({.max_epochs = 1, .devices = devices, .callbacks = {stopwatch}, .logger = false,
                       .limit_train_batches = batches, .limit_val_batches = 0, .num_sanity_val_steps = 0,
                       .enable_progress_bar = false, .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, data);

  // One allreduce of as many floats as the CNN has parameters: what averaging its gradients costs
  // per optimizer step (they fit one 25 MB bucket).
  int64_t parameters = 0;
  for (const auto& p : model.parameters()) parameters += p.numel();
  double allreduce_ms = 0;
  if (trainer.view().world_size() > 1) {
    const at::Tensor gradients = at::randn({parameters});
    trainer.view().barrier();
    constexpr int kRepeats = 50;
    const auto start = Clock::now();
    for (int i = 0; i < kRepeats; ++i) trainer.view().all_reduce(gradients);
    allreduce_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count() / kRepeats;
  }
  if (!trainer.view().is_global_zero()) return 0;
  const double samples = static_cast<double>(stopwatch->timed_batches * 64 * trainer.view().world_size());
  std::printf("devices %d: %.0f samples/s (%lld batches of 64 per rank timed, %.2f s); allreduce of %lld floats: %.3f ms\n",
              devices, samples / stopwatch->seconds(), static_cast<long long>(stopwatch->timed_batches),
              stopwatch->seconds(), static_cast<long long>(parameters), allreduce_ms);
  return 0;
}
