#pragma once

#include <lightning/callbacks/callback.h>
#include <lightning/core/datamodule.h>
#include <lightning/core/module.h>
#include <lightning/data/dataloader.h>
#include <lightning/diagnostics/diagnostic.h>
#include <lightning/loggers/logger.h>
#include <lightning/strategies/strategy.h>
#include <lightning/trainer/trainer_options.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lightning {

namespace detail {
struct Settings;
template <class T>
inline constexpr bool kIsDataset = std::derived_from<std::remove_cvref_t<T>, Dataset>;
}

/// Runs Lightning's loops: fit, validate, test, predict.
///
///   pl::Trainer trainer({.max_epochs = 10});
///   trainer.fit(model, train_loader, val_loader);
///   auto metrics = trainer.test(model, test_loader);   // metrics[0]["test_acc"]
///
/// Throws MisconfigurationException from the constructor when options are invalid, and from each
/// entry point before the first step when the module, loaders or options cannot work together.
class Trainer {
 public:
  explicit Trainer(TrainerOptions options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Trains. `ckpt_path` resumes from a checkpoint: a file, "last" (the newest last*.ckpt of the
  /// ModelCheckpoint callbacks) or "best"; model, optimizers, schedulers, callbacks, the position in
  /// the epoch and the random generator continue where the checkpoint left them.
  void fit(LightningModule& model, DataLoader train_dataloader,
           std::vector<DataLoader> val_dataloaders = {}, const std::string& ckpt_path = "");
  void fit(LightningModule& model, DataLoader train_dataloader, DataLoader val_dataloader,
           const std::string& ckpt_path = "");
  void fit(LightningModule& model, DataModule& datamodule, const std::string& ckpt_path = "");

  /// Runs every check `fit` would make before its first step (options, loaders, optimizers, and
  /// the probe: one training batch and one batch of each validation loader, undone afterwards)
  /// and returns what it found, errors and warnings, without training. Empty means ready.
  std::vector<Diagnostic> check(LightningModule& model, DataLoader train_dataloader,
                                std::vector<DataLoader> val_dataloaders = {});
  /// The same with the loaders of a DataModule (prepared, set up for "fit", torn down after).
  std::vector<Diagnostic> check(LightningModule& model, DataModule& datamodule);

  /// Evaluates; `ckpt_path` (a file, "best" or "last") loads those weights first.
  std::vector<Metrics> validate(LightningModule& model, std::vector<DataLoader> dataloaders,
                                const std::string& ckpt_path = "");
  std::vector<Metrics> validate(LightningModule& model, DataLoader dataloader, const std::string& ckpt_path = "");
  std::vector<Metrics> validate(LightningModule& model, DataModule& datamodule, const std::string& ckpt_path = "");

  std::vector<Metrics> test(LightningModule& model, std::vector<DataLoader> dataloaders,
                            const std::string& ckpt_path = "");
  std::vector<Metrics> test(LightningModule& model, DataLoader dataloader, const std::string& ckpt_path = "");
  std::vector<Metrics> test(LightningModule& model, DataModule& datamodule, const std::string& ckpt_path = "");

  /// One output per batch.
  std::vector<Batch> predict(LightningModule& model, DataLoader dataloader, const std::string& ckpt_path = "");
  /// One list of outputs per loader.
  std::vector<std::vector<Batch>> predict(LightningModule& model, std::vector<DataLoader> dataloaders,
                                          const std::string& ckpt_path = "");
  std::vector<std::vector<Batch>> predict(LightningModule& model, DataModule& datamodule,
                                          const std::string& ckpt_path = "");

  /// A dataset where a loader belongs is a compile error that says how to fix it.
  template <class M, class D, class... Rest>
    requires detail::kIsDataset<D>
  void fit(M&, D&&, Rest&&...) {
    static_assert(!detail::kIsDataset<D>,
                  "Trainer::fit takes a DataLoader, not a Dataset: wrap it, e.g. "
                  "trainer.fit(model, pl::DataLoader(dataset, {.batch_size = 32}))");
  }

  const TrainerOptions& options() const { return options_; }
  /// Progress and results of the last run (Lightning's trainer properties).
  const TrainerView& view() const { return view_; }
  int64_t current_epoch() const { return state_.current_epoch; }
  int64_t global_step() const { return state_.global_step; }
  const std::map<std::string, double>& callback_metrics() const { return state_.callback_metrics; }
  const std::map<std::string, double>& logged_metrics() const { return state_.logged_metrics; }
  /// Saves a checkpoint of the last fit (Lightning's `trainer.save_checkpoint`), as ModelCheckpoint
  /// would have at its end: `fit(..., filepath)` continues from it. The module given to that fit
  /// must still exist. Throws std::logic_error before a fit has returned.
  void save_checkpoint(const std::string& filepath, bool weights_only = false);
  /// True when SIGTERM or SIGINT stopped the last fit (at a batch boundary; fit returned normally).
  bool interrupted() const { return state_.received_signal != 0; }
  /// The callbacks in the order they run: the user's, the defaults that `enable_*` add, and the
  /// ModelCheckpoint callbacks last (they see what the others logged), as in Lightning.
  const std::vector<std::shared_ptr<Callback>>& callbacks() const { return callbacks_; }
  const std::vector<std::shared_ptr<Logger>>& loggers() const { return loggers_; }

 private:
  /// validate, test and predict: the module's weights from `ckpt_path`, then `body` inside a stage.
  template <class Body>
  void run_evaluation_stage(LightningModule& model, Stage stage, const detail::Settings& settings,
                            const std::string& ckpt_path, Body&& body);

  struct LastFit;
  std::unique_ptr<LastFit> last_fit_;
  TrainerOptions options_;
  std::unique_ptr<const detail::Settings> settings_;  ///< the options resolved, once
  TrainerFacts facts_;
  TrainerState state_;
  TrainerView view_{facts_, state_};
  std::vector<std::shared_ptr<Logger>> loggers_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
};

}  // namespace lightning
