#pragma once
// The Fashion-MNIST CNN of the example, shared with bench/checkpoint_io.cpp.

#include <lightning/lightning.h>

#include <torch/torch.h>

namespace pl = lightning;

struct FashionCNN : pl::LightningModule {
  torch::nn::Sequential features{nullptr}, classifier{nullptr};
  FashionCNN() {
    features = register_module("features", torch::nn::Sequential(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)), torch::nn::ReLU(), torch::nn::MaxPool2d(2),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)), torch::nn::ReLU(), torch::nn::MaxPool2d(2)));
    classifier = register_module("classifier", torch::nn::Sequential(
        torch::nn::Flatten(), torch::nn::Linear(32 * 7 * 7, 128), torch::nn::ReLU(), torch::nn::Linear(128, 10)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return classifier->forward(features->forward(x)); }

  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    auto loss = torch::nn::functional::cross_entropy(forward(batch[0]), batch[1]);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  pl::StepOutput test_step(const pl::Batch& batch, int64_t) override {
    auto logits = forward(batch[0]);
    log("test_loss", torch::nn::functional::cross_entropy(logits, batch[1]));
    log("test_acc", logits.argmax(1).eq(batch[1].tensor()).to(torch::kFloat).mean());
    return {};
  }
  pl::OptimizerConfig configure_optimizers() override {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-3));
  }
};
