#pragma once

#include <lightning/core/module.h>
#include <lightning/data/dataloader.h>

#include <optional>
#include <string>
#include <vector>

namespace lightning {

/// Everything about a data set in one place (Lightning's LightningDataModule): download or
/// prepare once, split per stage, and hand out loaders.
///
///   struct Digits : pl::DataModule {
///     void setup(const std::string& stage) override { ... }
///     std::optional<pl::DataLoader> train_dataloader() override { return pl::DataLoader(train_, {.batch_size = 64}); }
///   };
class DataModule {
 public:
  virtual ~DataModule() = default;
  /// Called once, before `setup`, to download or unpack data.
  virtual void prepare_data() {}
  /// Called with "fit", "validate", "test" or "predict" before the loaders are asked for.
  virtual void setup(const std::string& stage) {}
  virtual std::optional<DataLoader> train_dataloader() { return std::nullopt; }
  virtual std::vector<DataLoader> val_dataloader() { return {}; }
  virtual std::vector<DataLoader> test_dataloader() { return {}; }
  virtual std::vector<DataLoader> predict_dataloader() { return {}; }
  virtual void teardown(const std::string& stage) {}

  void save_hyperparameters(HyperParameters hparams);
  const HyperParameters& hparams() const { return hparams_; }

 private:
  HyperParameters hparams_;
};

}  // namespace lightning
