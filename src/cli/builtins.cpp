// The components a config names without any C++ of its own.

#include <lightning/callbacks/early_stopping.h>
#include <lightning/callbacks/lr_monitor.h>
#include <lightning/callbacks/model_checkpoint.h>
#include <lightning/callbacks/model_summary.h>
#include <lightning/callbacks/on_exception_checkpoint.h>
#include <lightning/callbacks/prediction_writer.h>
#include <lightning/callbacks/progress_bar.h>
#include <lightning/callbacks/timer.h>
#include <lightning/cli/cli.h>
#include <lightning/cli/registry.h>
#include <lightning/demos/datamodules.h>
#include <lightning/demos/models.h>
#include <lightning/loggers/csv_logger.h>
#include <lightning/loggers/tensorboard_logger.h>

#include "cli/optimizers.h"

namespace lightning::cli {
namespace {

struct ModelSummaryOptions {
  int64_t max_depth = 1;
};

void register_models() {
  using O = demos::MLPOptions;
  std::vector<Argument<O>> mlp = {
      required_arg("in_features", &O::in_features, "features per sample"),
      arg("out_features", &O::out_features, "classes (MLPClassifier) or targets (MLPRegressor)"),
      arg("hidden", &O::hidden, "units of each hidden layer"),
      arg("dropout", &O::dropout, "probability of zeroing a hidden unit while training"),
      arg("optimizer", &O::optimizer, "\"adam\", \"adamw\" or \"sgd\""),
      arg("lr", &O::lr, "learning rate"),
      arg("weight_decay", &O::weight_decay, "L2 penalty"),
  };
  register_class<LightningModule, demos::MLPClassifier>("MLPClassifier", mlp);
  register_class<LightningModule, demos::MLPRegressor>("MLPRegressor", mlp);
}

/// CSVDataModule's arguments; DigitsDataModule takes the same with a `path` of its own.
std::vector<Argument<demos::CSVDataModuleOptions>> csv_arguments(bool path_required) {
  using O = demos::CSVDataModuleOptions;
  return {path_required ? required_arg("path", &O::path, "a numeric CSV file, plain or .gz")
                        : arg("path", &O::path, "the digits CSV file (\"\": the copy shipped with lightning-cpp)"),
          arg("target_column", &O::target_column, "the target's column (-1: the last)"),
          arg("skip_rows", &O::skip_rows, "header lines to skip"),
          arg("integer_targets", &O::integer_targets, "class labels (true) or float targets (false)"),
          arg("num_classes", &O::num_classes, "classes a label must be one of (unset: an MLPClassifier's out_features)"),
          arg("val_fraction", &O::val_fraction, "fraction of rows for validation"),
          arg("test_fraction", &O::test_fraction, "fraction of rows for test"),
          arg("split_seed", &O::split_seed, "seed of the split"),
          arg("standardize", &O::standardize, "scale features to mean 0, std 1 (training rows' statistics)"),
          arg("batch_size", &O::batch_size, "samples per batch"),
          arg("num_workers", &O::num_workers, "loader worker threads")};
}

void register_datamodules() {
  register_class<DataModule, demos::CSVDataModule>("CSVDataModule", csv_arguments(/*path_required=*/true));
  register_class<DataModule, demos::DigitsDataModule>("DigitsDataModule", csv_arguments(/*path_required=*/false));
  using F = demos::FashionMNISTDataModuleOptions;
  register_class<DataModule, demos::FashionMNISTDataModule>(
      "FashionMNISTDataModule", arg("data_dir", &F::data_dir, "folder of the four .gz IDX files"),
      arg("cache_dir", &F::cache_dir, "where they are unpacked (\"\": the temporary folder)"),
      arg("val_size", &F::val_size, "training images held out for validation"),
      arg("flatten", &F::flatten, "784-value vectors (for an MLP) instead of 1x28x28"),
      arg("batch_size", &F::batch_size, "samples per batch"), arg("num_workers", &F::num_workers, "loader worker threads"));
}

void register_callbacks() {
  {
    using O = ModelCheckpointOptions;
    register_class<Callback, ModelCheckpoint>(
        "ModelCheckpoint",
        arg("dirpath", &O::dirpath, "folder of the checkpoints (\"\": <log_dir>/checkpoints)"),
         arg("filename", &O::filename, "file name template, e.g. \"{epoch}-{val_loss:.2f}\""),
         arg("monitor", &O::monitor, "logged metric that ranks checkpoints (\"\": the latest)"),
         arg("verbose", &O::verbose, "print each save"),
         arg("save_last", &O::save_last, "also keep last.ckpt"),
         arg("save_top_k", &O::save_top_k, "best checkpoints to keep (-1: all)"),
         arg("save_weights_only", &O::save_weights_only, "only the module's weights"),
         arg("mode", &O::mode, "\"min\" or \"max\""),
         arg("auto_insert_metric_name", &O::auto_insert_metric_name, "write \"name=\" before each value"),
         arg("every_n_train_steps", &O::every_n_train_steps, "save every n optimizer steps (0: off)"),
         arg("every_n_epochs", &O::every_n_epochs, "save every n epochs"),
         arg("save_on_train_epoch_end", &O::save_on_train_epoch_end, "save after training epochs, not validation"),
         arg("enable_version_counter", &O::enable_version_counter, "add -v1, -v2 to names that exist"));
  }
  {
    using O = EarlyStoppingOptions;
    register_class<Callback, EarlyStopping>(
        "EarlyStopping",
        required_arg("monitor", &O::monitor, "logged metric to watch"),
         arg("min_delta", &O::min_delta, "smallest change that counts as an improvement"),
         arg("patience", &O::patience, "checks without improvement before stopping"),
         arg("verbose", &O::verbose, "print each check"),
         arg("mode", &O::mode, "\"min\" or \"max\""),
         arg("strict", &O::strict, "a missing metric is an error"),
         arg("check_finite", &O::check_finite, "stop when the metric is NaN or infinite"),
         arg("stopping_threshold", &O::stopping_threshold, "stop once the metric reaches this"),
         arg("divergence_threshold", &O::divergence_threshold, "stop once the metric is worse than this"),
         arg("check_on_train_epoch_end", &O::check_on_train_epoch_end, "check after training epochs"));
  }
  {
    using O = LearningRateMonitorOptions;
    register_class<Callback, LearningRateMonitor>(
        "LearningRateMonitor", arg("logging_interval", &O::logging_interval, "\"step\", \"epoch\" or \"\" (the scheduler's)"),
                                arg("log_momentum", &O::log_momentum, "also log momentum"));
  }
  register_factory<Callback, ModelSummaryOptions>(
      "ModelSummary", {arg("max_depth", &ModelSummaryOptions::max_depth, "depth of submodules shown (-1: all)")},
      [](ModelSummaryOptions o) -> std::shared_ptr<Callback> { return std::make_shared<ModelSummary>(o.max_depth); });
  {
    using O = ProgressBarOptions;
    register_class<Callback, ProgressBar>(
        "ProgressBar", arg("refresh_rate", &O::refresh_rate, "redraw every n batches (0: off)"),
                        arg("plain_every_n_batches", &O::plain_every_n_batches, "line every n batches when not a terminal"));
  }
  {
    using O = TimerOptions;
    register_class<Callback, Timer>("Timer", arg("duration", &O::duration, "stop after this long"),
                                              arg("interval", &O::interval, "check every \"step\" or \"epoch\""),
                                              arg("verbose", &O::verbose, "print when the time is up"));
  }
  {
    using O = PredictionWriterOptions;
    register_class<Callback, PredictionWriter>(
        "PredictionWriter", required_arg("output_dir", &O::output_dir, "folder of the prediction files"),
        arg("write_interval", &O::write_interval, "\"epoch\" (one file), \"batch\" (a file per batch) or \"batch_and_epoch\""));
  }
  {
    using O = OnExceptionCheckpointOptions;
    register_class<Callback, OnExceptionCheckpoint>(
        "OnExceptionCheckpoint", required_arg("dirpath", &O::dirpath, "folder of the checkpoint"),
                                  arg("filename", &O::filename, "file name without .ckpt"));
  }
}

void register_loggers() {
  {
    using O = CSVLoggerOptions;
    register_class<Logger, CSVLogger>(
        "CSVLogger", arg("save_dir", &O::save_dir, "root folder"), arg("name", &O::name, "experiment folder"),
                      arg("version", &O::version, "version folder (null: the next free)"),
                      arg("prefix", &O::prefix, "added before every metric name"),
                      arg("flush_logs_every_n_steps", &O::flush_logs_every_n_steps, "write the file every n steps"));
  }
  {
    using O = TensorBoardLoggerOptions;
    register_class<Logger, TensorBoardLogger>(
        "TensorBoardLogger", arg("save_dir", &O::save_dir, "root folder"), arg("name", &O::name, "experiment folder"),
                              arg("version", &O::version, "version folder (null: the next free)"),
                              arg("default_hp_metric", &O::default_hp_metric, "log hp_metric = -1 at the start"),
                              arg("prefix", &O::prefix, "added before every metric name"));
  }
}

}  // namespace

void register_builtins() {
  static const bool registered = [] {
    register_models();
    register_datamodules();
    register_callbacks();
    register_loggers();
    register_optimizers_and_schedulers();
    return true;
  }();
  (void)registered;
}

}  // namespace lightning::cli
