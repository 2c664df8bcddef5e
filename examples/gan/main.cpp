// A small GAN on 2-D toy data with two optimizers under manual optimization (Lightning's GAN
// pattern): the generator learns to turn noise into samples of N((2, -1), 0.25 I).
//
//   ./gan                                                 trains with the settings below
//   ./gan fit --config examples/gan/config.yaml           the same from a config: GAN and
//                                                         GaussianDataModule are registered here
//                                                         and the program is a LightningCLI

#include <lightning/cli/cli.h>
#include <lightning/cli/registry.h>
#include <lightning/lightning.h>

#include <torch/torch.h>

#include <cstdio>

namespace pl = lightning;

torch::nn::Sequential mlp(int64_t in, int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, 32), torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                               torch::nn::Linear(32, 32), torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                               torch::nn::Linear(32, out));
}

struct GANOptions {
  double lr = 1e-3;
  double beta1 = 0.5;
};

/// How far the mean of `n` generated samples is from the target's mean (2, -1), per coordinate at
/// most.
double mean_error(torch::nn::Sequential& generator, int64_t n = 4096) {
  torch::NoGradGuard no_grad;
  auto mean = generator->forward(torch::randn({n, 2})).mean(0);
  return (mean - torch::tensor({2.0f, -1.0f})).abs().max().item<double>();
}

struct GAN : pl::LightningModule {
  torch::nn::Sequential generator{nullptr}, discriminator{nullptr};
  GANOptions options;
  explicit GAN(GANOptions options_ = {}) : options(options_) {
    automatic_optimization = false;
    generator = register_module("generator", mlp(2, 2));
    discriminator = register_module("discriminator", mlp(2, 1));
  }

  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    auto optimizers = this->optimizers();
    auto& g_opt = optimizers.at(0);
    auto& d_opt = optimizers.at(1);
    const torch::Tensor& real = batch;
    const auto n = real.size(0);
    auto ones = torch::ones({n, 1});
    auto zeros = torch::zeros({n, 1});
    namespace F = torch::nn::functional;

    // Discriminator: real samples are 1, generated ones 0.
    auto fake = generator->forward(torch::randn({n, 2}));
    auto d_loss = F::binary_cross_entropy_with_logits(discriminator->forward(real), ones) +
                  F::binary_cross_entropy_with_logits(discriminator->forward(fake.detach()), zeros);
    d_opt.zero_grad();
    manual_backward(d_loss);
    d_opt.step();

    // Generator: make the discriminator say 1.
    auto g_loss = F::binary_cross_entropy_with_logits(discriminator->forward(fake), ones);
    g_opt.zero_grad();
    manual_backward(g_loss);
    g_opt.step();

    log("d_loss", d_loss, {.prog_bar = true});
    log("g_loss", g_loss, {.prog_bar = true});
    return {};
  }

  pl::OptimizerConfig configure_optimizers() override {
    pl::OptimizerConfig config;
    auto adam = [this](std::vector<torch::Tensor> params) {
      return std::make_unique<torch::optim::Adam>(params,
                                                  torch::optim::AdamOptions(options.lr).betas({options.beta1, 0.999}));
    };
    config.add(adam(generator->parameters()));
    config.add(adam(discriminator->parameters()));
    return config;
  }
};

/// The real samples: `n` draws of N((2, -1), 0.25 I), made in setup (after the run's seed).
struct GaussianOptions {
  int64_t n = 4096;
  int64_t batch_size = 128;
};
struct GaussianDataModule : pl::DataModule {
  GaussianOptions options;
  std::shared_ptr<pl::TensorDataset> real;
  explicit GaussianDataModule(GaussianOptions options_) : options(options_) {}
  void setup(const std::string&) override {
    if (!real) real = std::make_shared<pl::TensorDataset>(torch::randn({options.n, 2}) * 0.5 + torch::tensor({2.0f, -1.0f}));
  }
  std::optional<pl::DataLoader> train_dataloader() override {
    return pl::DataLoader(real, {.batch_size = options.batch_size, .shuffle = true});
  }
};

/// Reports the generator's mean error when training ends, so that the config's run shows it too.
struct MeanErrorReport : pl::Callback {
  void on_train_end(const pl::TrainerView&, pl::LightningModule& module) override {
    std::printf("mean error: %.3f\n", mean_error(dynamic_cast<GAN&>(module).generator));
  }
};

LIGHTNING_REGISTER_MODEL(GAN, pl::cli::arg("lr", &GANOptions::lr, "Adam's learning rate, both networks"),
                         pl::cli::arg("beta1", &GANOptions::beta1, "Adam's first beta"));
LIGHTNING_REGISTER_DATAMODULE(GaussianDataModule, pl::cli::arg("n", &GaussianOptions::n, "real samples"),
                              pl::cli::arg("batch_size", &GaussianOptions::batch_size, "samples per batch"));
LIGHTNING_REGISTER_CALLBACK(MeanErrorReport);

int main(int argc, char** argv) {
  if (argc > 1) return pl::cli::main(argc, argv);
  pl::seed_everything(3);
  auto real = torch::randn({4096, 2}) * 0.5 + torch::tensor({2.0f, -1.0f});
  auto loader = pl::DataLoader(pl::TensorDataset(real), {.batch_size = 128, .shuffle = true});
  GAN model;
  pl::Trainer trainer({.max_epochs = 40, .accelerator = "cpu", .enable_progress_bar = false});
  trainer.fit(model, loader);

  torch::NoGradGuard no_grad;
  auto samples = model.generator->forward(torch::randn({4096, 2}));
  auto mean = samples.mean(0);
  auto std = samples.std(0);
  std::printf("optimizer steps: %lld\n", static_cast<long long>(trainer.global_step()));
  std::printf("generated mean: %.3f %.3f (target 2.000 -1.000)\n", mean[0].item<double>(), mean[1].item<double>());
  std::printf("generated std: %.3f %.3f (target 0.500 0.500)\n", std[0].item<double>(), std[1].item<double>());
  const double error = (mean - torch::tensor({2.0f, -1.0f})).abs().max().item<double>();
  std::printf("mean error: %.3f\n", error);
  return error < 0.25 ? 0 : 1;
}
