// A small CNN on Fashion-MNIST (60,000 training and 10,000 test images of clothes, 28x28), from
// Debian's dataset-fashion-mnist package: a real workload for the Trainer. (config.yaml beside it
// trains an MLP on the same data with the `lightning-cpp` command, no C++.)
//
//   ./fashion_mnist [max_epochs=2] [limit_train_batches=1.0] [data_dir=/usr/share/datasets/fashion-mnist]

#include "fashion_cnn.h"

#include <lightning/lightning.h>

#include <lightning/demos/datamodules.h>

#include <cstdio>
#include <string>

namespace pl = lightning;

int main(int argc, char** argv) {
  const int64_t epochs = argc > 1 ? std::stoll(argv[1]) : 2;
  const double limit = argc > 2 ? std::stod(argv[2]) : 1.0;
  const std::string data_dir = argc > 3 ? argv[3] : "/usr/share/datasets/fashion-mnist";
  try {
    pl::seed_everything(0);
    // Every training image trains (no validation split: the model has no validation_step).
    pl::demos::FashionMNISTDataModule data({.data_dir = data_dir, .val_size = 0});
    FashionCNN model;
    pl::Trainer trainer({.max_epochs = epochs, .accelerator = "cpu",
                         .limit_train_batches = limit > 1.0 ? pl::CountOrFraction(static_cast<int64_t>(limit))
                                                            : pl::CountOrFraction(limit),
                         .enable_progress_bar = false});
    trainer.fit(model, data);
    std::printf("fit: %lld optimizer steps, batches of 64 from %lld training images\n",
                static_cast<long long>(trainer.global_step()),
                static_cast<long long>(data.train_dataloader()->dataset().size()));
    const auto results = trainer.test(model, data);
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
