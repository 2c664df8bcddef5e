// A small CNN on Fashion-MNIST (60,000 training and 10,000 test images of clothes, 28x28), from
// Debian's dataset-fashion-mnist package: a real workload for the Trainer.
//
//   ./fashion_mnist [max_epochs=2] [limit_train_batches=1.0] [data_dir=/usr/share/datasets/fashion-mnist]

#include "fashion_cnn.h"

#include <lightning/lightning.h>

#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace pl = lightning;
namespace fs = std::filesystem;

/// LibTorch's MNIST reader wants the IDX files uncompressed: inflate them once into `cache`.
fs::path unpacked(const fs::path& data_dir, const fs::path& cache) {
  fs::create_directories(cache);
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"}) {
    const fs::path target = cache / name;
    if (fs::exists(target)) continue;
    const fs::path source = data_dir / (std::string(name) + ".gz");
    std::unique_ptr<gzFile_s, int (*)(gzFile)> in(gzopen(source.c_str(), "rb"), gzclose);
    if (!in) throw std::runtime_error("cannot open " + source.string() + " (make deps installs dataset-fashion-mnist)");
    // A name of this process's own, so two runs unpacking at once never write the same file.
    const fs::path partial = target.string() + ".partial." + std::to_string(::getpid());
    {
      std::ofstream out(partial, std::ios::binary);
      char buffer[1 << 16];
      int n = 0;
      while ((n = gzread(in.get(), buffer, sizeof buffer)) > 0) out.write(buffer, n);
      if (n < 0 || !out) throw std::runtime_error("cannot inflate " + source.string() + " into " + partial.string());
    }
    fs::rename(partial, target);  // never leave a half-written file under the final name
  }
  return cache;
}


pl::DataLoader loader(const fs::path& root, torch::data::datasets::MNIST::Mode mode, bool shuffle) {
  torch::data::datasets::MNIST mnist(root.string(), mode);
  return pl::DataLoader(pl::TensorDataset(mnist.images(), mnist.targets()),
                        {.batch_size = 64, .shuffle = shuffle, .num_workers = 1});
}

int main(int argc, char** argv) {
  const int64_t epochs = argc > 1 ? std::stoll(argv[1]) : 2;
  const double limit = argc > 2 ? std::stod(argv[2]) : 1.0;
  const fs::path data_dir = argc > 3 ? argv[3] : "/usr/share/datasets/fashion-mnist";
  try {
    pl::seed_everything(0);
    const fs::path root = unpacked(data_dir, fs::temp_directory_path() / "lightning-cpp-fashion-mnist");
    auto train = loader(root, torch::data::datasets::MNIST::Mode::kTrain, true);
    auto test = loader(root, torch::data::datasets::MNIST::Mode::kTest, false);
    FashionCNN model;
    pl::Trainer trainer({.max_epochs = epochs, .accelerator = "cpu",
                         .limit_train_batches = limit > 1.0 ? pl::CountOrFraction(static_cast<int64_t>(limit))
                                                            : pl::CountOrFraction(limit),
                         .enable_progress_bar = false});
    trainer.fit(model, train);
    std::printf("fit: %lld optimizer steps, batches of 64 from %lld training images\n",
                static_cast<long long>(trainer.global_step()), static_cast<long long>(train.dataset().size()));
    const auto results = trainer.test(model, test);
    for (const auto& [name, value] : results.at(0)) std::printf("%s %.4f\n", name.c_str(), value);
  } catch (const pl::MisconfigurationException& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
