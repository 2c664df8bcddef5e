// An MLP on the digits data (8x8 images of handwritten digits), trained, validated and tested
// with lightning-cpp: the example `make demo` runs.
//
//   ./digits [path/to/digits.csv.gz]

#include <lightning/lightning.h>

#include <torch/torch.h>

#include <cstdio>
#include <string>

namespace pl = lightning;

struct DigitsClassifier : pl::LightningModule {
  torch::nn::Sequential net{nullptr};
  double lr;

  explicit DigitsClassifier(int64_t hidden = 128, double lr_ = 1e-3) : lr(lr_) {
    net = register_module("net", torch::nn::Sequential(torch::nn::Linear(64, hidden), torch::nn::ReLU(),
                                                       torch::nn::Linear(hidden, 10)));
    save_hyperparameters({{"hidden", hidden}, {"lr", lr}});
  }

  torch::Tensor forward(const torch::Tensor& x) { return net->forward(x); }

  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    auto loss = torch::nn::functional::cross_entropy(forward(batch[0]), batch[1]);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }

  pl::StepOutput evaluate(const pl::Batch& batch, const std::string& stage) {
    auto logits = forward(batch[0]);
    auto loss = torch::nn::functional::cross_entropy(logits, batch[1]);
    auto acc = logits.argmax(1).eq(batch[1].tensor()).to(torch::kFloat).mean();
    log(stage + "_loss", loss, {.prog_bar = true});
    log(stage + "_acc", acc, {.prog_bar = true});
    return loss;
  }
  pl::StepOutput validation_step(const pl::Batch& batch, int64_t) override { return evaluate(batch, "val"); }
  pl::StepOutput test_step(const pl::Batch& batch, int64_t) override { return evaluate(batch, "test"); }

  pl::OptimizerConfig configure_optimizers() override {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(lr));
  }
};

/// 1797 digits split 70/15/15 with a fixed permutation; pixel counts scaled to [0, 1].
struct DigitsDataModule : pl::DataModule {
  std::string path;
  std::shared_ptr<pl::TensorDataset> train, val, test;
  explicit DigitsDataModule(std::string path_) : path(std::move(path_)) {}

  void setup(const std::string&) override {
    if (train) return;
    pl::CSVDataset all(path);
    auto order = torch::randperm(all.size(), torch::TensorOptions().dtype(torch::kLong));
    auto x = all.features().index_select(0, order) / 16.0;
    auto y = all.targets().index_select(0, order);
    const int64_t n_train = all.size() * 70 / 100, n_val = all.size() * 15 / 100;
    auto part = [&](int64_t begin, int64_t count) {
      return std::make_shared<pl::TensorDataset>(x.narrow(0, begin, count), y.narrow(0, begin, count));
    };
    train = part(0, n_train);
    val = part(n_train, n_val);
    test = part(n_train + n_val, all.size() - n_train - n_val);
  }
  std::optional<pl::DataLoader> train_dataloader() override {
    return pl::DataLoader(train, {.batch_size = 32, .shuffle = true});
  }
  std::vector<pl::DataLoader> val_dataloader() override { return {pl::DataLoader(val, {.batch_size = 128})}; }
  std::vector<pl::DataLoader> test_dataloader() override { return {pl::DataLoader(test, {.batch_size = 128})}; }
};

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : LIGHTNING_EXAMPLES_DATA_DIR "/digits.csv.gz";
  try {
    pl::seed_everything(42);
    DigitsDataModule data(path);
    DigitsClassifier model;
    auto checkpoint = std::make_shared<pl::ModelCheckpoint>(pl::ModelCheckpointOptions{
        .filename = "{epoch}-{val_acc:.3f}", .monitor = "val_acc", .save_last = true, .mode = "max"});
    auto early_stopping = std::make_shared<pl::EarlyStopping>(pl::EarlyStoppingOptions{.monitor = "val_loss", .patience = 5});
    // logger = true (the default): TensorBoard and CSV logs in lightning_logs/version_<N>.
    pl::Trainer trainer({.max_epochs = 20, .accelerator = "cpu", .callbacks = {checkpoint, early_stopping}});
    trainer.fit(model, data);
    std::printf("fit: %lld epochs, %lld optimizer steps, val_acc %.4f\n",
                static_cast<long long>(trainer.current_epoch()),
                static_cast<long long>(trainer.global_step()), trainer.callback_metrics().at("val_acc"));
    std::printf("logs: %s (tensorboard --logdir lightning_logs)\nbest checkpoint: %s (val_acc %.4f)\n",
                trainer.view().log_dir().c_str(),
                checkpoint->best_model_path().c_str(), checkpoint->best_model_score().value_or(0.0));
    auto results = trainer.test(model, data, "best");
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
