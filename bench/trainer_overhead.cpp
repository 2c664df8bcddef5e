// The Trainer's overhead against a hand-written LibTorch loop: the same model, data, seed and
// order, trained once through Trainer::fit and once by hand, alternating which goes first over
// several repetitions, in one process. Prints one line per workload:
//
//   workload=NAME trainer_samples_per_s=X raw_samples_per_s=Y ratio=Y/X weights_identical=true|false
//
// The rates come from each side's fastest repetition (the least disturbed by the rest of the
// machine); a second line gives the medians and the minor page faults per step; a third the
// ratio of CPU time (the process's, every thread included) within each alternating pair, whose
// median this VM's scheduling disturbs least (time the process was not running is not counted).
// The Trainer logs the loss every step; the raw loop does not read it at all.
//
//   ./trainer_overhead [repetitions=5] [workload=all|mlp|tiny] [side=both|trainer|raw] [device=cpu|cuda]
//
// One side alone (for `perf stat` or callgrind of one loop) prints that side's rate only. On
// "cuda" both train on GPU 0 from data in host memory, each batch copied to the GPU as it is
// used (the hand loop as a LibTorch user writes it; the Trainer with accelerator "gpu").

#include <lightning/lightning.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pl = lightning;

namespace {

struct Workload {
  std::string name;
  int64_t samples, features, classes, batch_size;
  std::function<torch::nn::Sequential()> make_model;
  std::function<std::unique_ptr<torch::optim::Optimizer>(torch::nn::Module&)> make_optimizer;
};

struct Measurement {
  double seconds = 0;
  double cpu_seconds = 0;
  double faults_per_step = 0;
  torch::Tensor weights;
};

/// CPU time of every thread of this process so far.
double cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return double(now.tv_sec) + double(now.tv_nsec) * 1e-9;
}

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

struct Data {
  torch::Tensor x, y;
};

Data make_data(const Workload& w) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(123);
  return {at::randn({w.samples, w.features}, generator, at::TensorOptions().dtype(at::kFloat)),
          at::randint(0, w.classes, {w.samples}, generator, at::TensorOptions().dtype(at::kLong))};
}

constexpr uint64_t kSeed = 42;

struct Model : pl::LightningModule {
  torch::nn::Sequential net{nullptr};
  const Workload& workload;
  Model(const Workload& w) : workload(w) { net = register_module("net", w.make_model()); }
  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    auto loss = torch::nn::functional::cross_entropy(net->forward(batch[0].tensor()), batch[1]);
    log("train_loss", loss);
    return loss;
  }
  pl::OptimizerConfig configure_optimizers() override { return workload.make_optimizer(*this); }
};

Measurement run_trainer(const Workload& w, const Data& data, const torch::Device& device) {
  torch::manual_seed(kSeed);
  Model model(w);
  pl::DataLoader loader(pl::TensorDataset(data.x, data.y), {.batch_size = w.batch_size, .shuffle = true, .seed = kSeed});
  pl::Trainer trainer({.max_epochs = 1, .accelerator = device.is_cuda() ? "gpu" : "cpu", .devices = 1, .logger = false, .enable_progress_bar = false, .enable_model_summary = false,
                       .enable_checkpointing = false});
  const long faults = minor_faults();
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(model, loader);
  if (device.is_cuda()) torch::cuda::synchronize();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {seconds, cpu_seconds() - cpu_start, double(minor_faults() - faults) / double(trainer.global_step()),
          torch::nn::utils::parameters_to_vector(model.parameters()).detach().clone()};
}

/// What a LibTorch user writes by hand: the same permutation (a generator seeded with the seed
/// and the epoch), gather, forward, loss, backward, step.
Measurement run_raw(const Workload& w, const Data& data, const torch::Device& device) {
  torch::manual_seed(kSeed);
  auto net = w.make_model();
  net->to(device);
  torch::nn::Module holder;
  holder.register_module("net", net);
  auto optimizer = w.make_optimizer(holder);
  const long faults = minor_faults();
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(kSeed + 0);  // epoch 0
  auto order = at::randperm(w.samples, generator, at::kLong);
  int64_t steps = 0;
  for (int64_t begin = 0; begin < w.samples; begin += w.batch_size, ++steps) {
    auto index = order.narrow(0, begin, std::min(w.batch_size, w.samples - begin));
    auto x = data.x.index_select(0, index).to(device);
    auto y = data.y.index_select(0, index).to(device);
    optimizer->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    optimizer->step();
  }
  if (device.is_cuda()) torch::cuda::synchronize();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {seconds, cpu_seconds() - cpu_start, double(minor_faults() - faults) / double(steps),
          torch::nn::utils::parameters_to_vector(holder.parameters()).detach().cpu()};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double fastest(const std::vector<double>& values) { return *std::min_element(values.begin(), values.end()); }

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "usage: trainer_overhead [repetitions=5] [workload=all|mlp|tiny] [side=both|trainer|raw] "
                      "[device=cpu|cuda]\n";
  if (argc > 1 && (std::string_view(argv[1]).empty() ||
                   std::string_view(argv[1]).find_first_not_of("0123456789") != std::string_view::npos)) {
    std::fputs(usage, stderr);
    return std::string_view(argv[1]) == "--help" ? 0 : 2;
  }
  const int repetitions = argc > 1 ? std::stoi(argv[1]) : 5;
  const std::string only = argc > 2 ? argv[2] : "all";
  const std::string side = argc > 3 ? argv[3] : "both";
  const torch::Device device(argc > 4 ? argv[4] : "cpu");
  const std::vector<Workload> workloads = {
      {"mlp", 60000, 784, 10, 64,
       [] { return torch::nn::Sequential(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 10)); },
       [](torch::nn::Module& m) {
         return std::make_unique<torch::optim::Adam>(m.parameters(), torch::optim::AdamOptions(1e-3));
       }},
      {"tiny", 100000, 10, 2, 32, [] { return torch::nn::Sequential(torch::nn::Linear(10, 2)); },
       [](torch::nn::Module& m) {
         return std::make_unique<torch::optim::SGD>(m.parameters(), torch::optim::SGDOptions(0.01));
       }},
  };
  // The Trainer tunes glibc's malloc at its first run; do it now so both loops run alike.
  pl::tune_malloc_for_training();
  std::printf("# torch threads=%d repetitions=%d device=%s\n", at::get_num_threads(), repetitions, device.str().c_str());
  for (const auto& w : workloads) {
    if (only != "all" && only != w.name) continue;
    const Data data = make_data(w);
    if (side != "both") {
      std::vector<double> seconds;
      for (int r = 0; r < repetitions; ++r) seconds.push_back((side == "trainer" ? run_trainer(w, data, device) : run_raw(w, data, device)).seconds);
      std::printf("workload=%s side=%s samples_per_s=%.0f\n", w.name.c_str(), side.c_str(), double(w.samples) / fastest(seconds));
      continue;
    }
    run_raw(w, data, device);  // warm-up: allocator, caches
    std::vector<double> trainer_s, raw_s, trainer_faults, raw_faults, cpu_ratios;
    bool identical = true;
    for (int r = 0; r < repetitions; ++r) {
      Measurement t, raw;
      if (r % 2 == 0) {
        t = run_trainer(w, data, device);
        raw = run_raw(w, data, device);
      } else {
        raw = run_raw(w, data, device);
        t = run_trainer(w, data, device);
      }
      identical = identical && t.weights.equal(raw.weights);
      trainer_s.push_back(t.seconds);
      raw_s.push_back(raw.seconds);
      trainer_faults.push_back(t.faults_per_step);
      raw_faults.push_back(raw.faults_per_step);
      cpu_ratios.push_back(t.cpu_seconds / raw.cpu_seconds);
    }
    const double trainer_rate = double(w.samples) / fastest(trainer_s);
    const double raw_rate = double(w.samples) / fastest(raw_s);
    std::printf("workload=%s trainer_samples_per_s=%.0f raw_samples_per_s=%.0f ratio=%.3f weights_identical=%s\n",
                w.name.c_str(), trainer_rate, raw_rate, raw_rate / trainer_rate, identical ? "true" : "false");
    std::printf("#   median seconds: trainer %.3f raw %.3f (ratio %.3f); minor page faults per step: trainer %.1f raw %.1f\n",
                median(trainer_s), median(raw_s), median(trainer_s) / median(raw_s), median(trainer_faults),
                median(raw_faults));
    std::printf("#   cpu time ratio per pair: median %.3f, range %.3f-%.3f\n", median(cpu_ratios), fastest(cpu_ratios),
                *std::max_element(cpu_ratios.begin(), cpu_ratios.end()));
    std::fflush(stdout);
  }
  return 0;
}
