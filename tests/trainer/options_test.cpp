// Stage 1 and 2 diagnostics of the Trainer's options, loaders and optimizer configuration: each
// code with its text, and every problem of a stage reported at once.

#include "support/support.h"

#include <lightning/utilities/console.h>

#include <torch/optim/sgd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace lightning {
namespace {

using testing::BoringModel;
using testing::random_loader;

MisconfigurationException construction_error(TrainerOptions options) {
  try {
    Trainer trainer(std::move(options));
  } catch (const MisconfigurationException& e) {
    return e;
  }
  ADD_FAILURE() << "expected a MisconfigurationException";
  return MisconfigurationException({});
}

struct OptionCase {
  const char* name;
  TrainerOptions options;
  const char* code;
  const char* text;
};

class TrainerOptionDiagnostics : public ::testing::TestWithParam<OptionCase> {};

TEST_P(TrainerOptionDiagnostics, ReportsTheCodeAndTheFix) {
  const auto& c = GetParam();
  auto e = construction_error(c.options);
  ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
  EXPECT_EQ(e.diagnostics()[0].code, c.code);
  EXPECT_NE(std::string(e.what()).find(c.text), std::string::npos) << e.what();
}

INSTANTIATE_TEST_SUITE_P(
    EachOption, TrainerOptionDiagnostics,
    ::testing::Values(
        OptionCase{"max_epochs", {.max_epochs = -2}, "LC0101", "Trainer option `max_epochs` must be >= -1"},
        OptionCase{"accelerator", {.accelerator = "my_cpu"}, "LC0102",
                   "error[LC0102]: Trainer option `accelerator` has an unknown value \"my_cpu\"\n"
                   "  --> Trainer({.accelerator = ...})\n"
                   "   = received: \"my_cpu\"\n"
                   "   = expected one of: \"auto\", \"cpu\", \"cuda\", \"gpu\", \"mps\"\n"
                   "   = help: did you mean \"cpu\"?"},
        OptionCase{"precision", {.precision = "16-mixd"}, "LC0103", "did you mean \"16-mixed\"?"},
        OptionCase{"strategy", {.strategy = "dpp"}, "LC0104", "did you mean \"ddp\"?"},
        OptionCase{"devices_list_on_cpu", {.accelerator = "cpu", .devices = {0, 2}}, "LC0119",
                   "Trainer option `devices` names devices, but on the CPU it counts processes"},
        OptionCase{"num_nodes", {.num_nodes = 0}, "LC0125", "Trainer option `num_nodes` must be >= 1"},
        OptionCase{"max_steps", {.max_steps = -5}, "LC0106", "Trainer option `max_steps` must be >= -1"},
        OptionCase{"min_epochs", {.max_epochs = 2, .min_epochs = 3}, "LC0107",
                   "Trainer option `min_epochs` is larger than `max_epochs`"},
        OptionCase{"min_steps", {.min_steps = -1}, "LC0107", "Trainer option `min_steps` must be >= 0"},
        OptionCase{"min_steps_above_max", {.max_steps = 10, .min_steps = 20}, "LC0107",
                   "Trainer option `min_steps` is larger than `max_steps`"},
        OptionCase{"devices_zero", {.devices = 0}, "LC0119",
                   "Trainer option `devices` is malformed: a device count must be >= 1, or -1 for every device"},
        OptionCase{"devices_negative", {.devices = -3}, "LC0119", "received: -3"},
        OptionCase{"devices_repeated", {.devices = {1, 0, 1}}, "LC0119", "the list repeats device 1"},
        OptionCase{"limit_train_batches", {.limit_train_batches = 1.5}, "LC0108",
                   "Trainer option `limit_train_batches` must be a batch count >= 0 or a fraction in [0.0, 1.0]"},
        OptionCase{"limit_val_batches", {.limit_val_batches = -1}, "LC0108", "received: -1"},
        OptionCase{"val_check_interval", {.val_check_interval = 0.0}, "LC0109",
                   "Trainer option `val_check_interval` must be a batch count >= 1"},
        OptionCase{"check_val_every_n_epoch", {.check_val_every_n_epoch = 0}, "LC0110",
                   "Trainer option `check_val_every_n_epoch` must be >= 1"},
        OptionCase{"num_sanity_val_steps", {.num_sanity_val_steps = -2}, "LC0111",
                   "Trainer option `num_sanity_val_steps` must be >= -1"},
        OptionCase{"accumulate_grad_batches", {.accumulate_grad_batches = 0}, "LC0112",
                   "Trainer option `accumulate_grad_batches` must be >= 1"},
        OptionCase{"gradient_clip_val", {.gradient_clip_val = -1.0}, "LC0113",
                   "Trainer option `gradient_clip_val` must be >= 0"},
        OptionCase{"gradient_clip_algorithm", {.gradient_clip_algorithm = "nrom"}, "LC0114",
                   "did you mean \"norm\"?"},
        OptionCase{"log_every_n_steps", {.log_every_n_steps = 0}, "LC0115",
                   "Trainer option `log_every_n_steps` must be >= 1"},
        OptionCase{"fast_dev_run", {.fast_dev_run = -1}, "LC0116", "Trainer option `fast_dev_run` must be >= 0"},
        OptionCase{"accelerator_mps", {.accelerator = "mps"}, "LC0118",
                   "accelerator \"mps\" (Apple's Metal) is not available to LibTorch on this platform"},
        OptionCase{"precision_16_true_on_cpu", {.accelerator = "cpu", .precision = "16-true"}, "LC0123",
                   "use .precision = \"bf16-true\""},
        OptionCase{"precision_16_mixed_on_cpu", {.accelerator = "cpu", .precision = "16"}, "LC0123",
                   "precision \"16\" needs a CUDA device; this trainer runs on the CPU"},
        OptionCase{"single_device_with_two", {.accelerator = "cpu", .devices = 2, .strategy = "single_device"},
                   "LC0124", "strategy \"single_device\" runs one process, but devices and num_nodes ask for 2"},
        OptionCase{"ddp_spawn", {.strategy = "ddp_spawn"}, "LC0126", "use .strategy = \"ddp\""},
        OptionCase{"num_nodes_without_launcher", {.num_nodes = 2}, "LC0127",
                   "num_nodes = 2 needs a launcher that starts the program on every node; none was found"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TrainerOptions, ReportsFiveIndependentMistakesInOneException) {
  auto e = construction_error({.max_epochs = -3, .accelerator = "tpu", .precision = "banana",
                               .accumulate_grad_batches = 0, .gradient_clip_algorithm = "l2"});
  EXPECT_EQ(e.diagnostics().size(), 5u);
  for (const char* code : {"LC0101", "LC0102", "LC0103", "LC0112", "LC0114"}) EXPECT_TRUE(e.has(code)) << code;
  EXPECT_NE(std::string(e.what()).find("5 errors found before training started"), std::string::npos);
}

TEST(TrainerOptions, DefaultRootDirMustBeAWritableFolder) {
  const auto file = std::filesystem::temp_directory_path() / "lightning_root_is_a_file";
  std::ofstream(file) << "x";
  auto e = construction_error({.default_root_dir = file.string()});
  EXPECT_TRUE(e.has("LC0120"));
  EXPECT_NE(std::string(e.what()).find("cannot hold logs and checkpoints: it is a file, not a folder"), std::string::npos);
  e = construction_error({.default_root_dir = (file / "runs").string()});
  EXPECT_NE(std::string(e.what()).find("is a file, so no folder can be created under it"), std::string::npos);
  std::filesystem::remove(file);
  EXPECT_NO_THROW(Trainer({.default_root_dir = (std::filesystem::temp_directory_path() / "lightning_new_runs").string()}));
}

TEST(TrainerOptions, DefaultsAndValidValuesAreAccepted) {
  EXPECT_NO_THROW(Trainer(TrainerOptions{}));
  EXPECT_NO_THROW(Trainer({.max_epochs = -1, .accelerator = "cpu", .devices = 1, .precision = "32",
                           .limit_train_batches = 10, .val_check_interval = 0.5, .fast_dev_run = true}));
}

// What TrainerView says comes from the resolved settings: fast_dev_run's overrides reach the
// callbacks that ask (ModelCheckpoint and EarlyStopping read the validation cadence).
TEST(TrainerOptions, TheViewGivesTheResolvedSettings) {
  Trainer dev({.max_epochs = 7, .max_steps = 100, .logger = false, .val_check_interval = 0.5,
               .check_val_every_n_epoch = 3, .accumulate_grad_batches = 2, .fast_dev_run = 2,
               .enable_checkpointing = false});
  EXPECT_TRUE(dev.view().fast_dev_run());
  EXPECT_EQ(dev.view().max_epochs(), 1);
  EXPECT_EQ(dev.view().max_steps(), 2);
  EXPECT_EQ(dev.view().check_val_every_n_epoch(), 1);
  EXPECT_TRUE(dev.view().val_check_interval_is_one_epoch());
  EXPECT_EQ(dev.view().accumulate_grad_batches(), 2);
  EXPECT_EQ(dev.view().default_root_dir(), ".");

  Trainer plain({.max_steps = 100, .logger = false, .val_check_interval = 0.5, .check_val_every_n_epoch = 3,
                 .enable_checkpointing = false});
  EXPECT_FALSE(plain.view().fast_dev_run());
  EXPECT_EQ(plain.view().max_epochs(), -1);  // unset with max_steps set: no limit, as Lightning's
  EXPECT_EQ(plain.view().max_steps(), 100);
  EXPECT_EQ(plain.view().check_val_every_n_epoch(), 3);
  EXPECT_FALSE(plain.view().val_check_interval_is_one_epoch());
}

template <class Run>
MisconfigurationException run_error(Run&& run) {
  try {
    run();
  } catch (const MisconfigurationException& e) {
    return e;
  }
  ADD_FAILURE() << "expected a MisconfigurationException";
  return MisconfigurationException({});
}

TEST(LoaderDiagnostics, EveryBadLoaderIsReportedBeforeTraining) {
  BoringModel model;
  Trainer trainer({.max_epochs = 1});
  auto e = run_error([&] {
    trainer.fit(model, DataLoader(testing::random_dataset(8), {.batch_size = 0}),
                std::vector<DataLoader>{DataLoader(testing::random_dataset(8), {.batch_size = 4, .num_workers = -1}),
                                        DataLoader(testing::random_dataset(3), {.batch_size = 4, .drop_last = true})});
  });
  EXPECT_EQ(model.training_steps, 0);
  ASSERT_EQ(e.diagnostics().size(), 3u) << e.what();
  const std::string text = e.what();
  EXPECT_NE(text.find("error[LC0201]: DataLoader option `batch_size` must be >= 1 (train_dataloaders)"), std::string::npos);
  EXPECT_NE(text.find("error[LC0202]: DataLoader option `num_workers` must be >= 0 (val_dataloaders[0])"), std::string::npos);
  EXPECT_NE(text.find("error[LC0203]: the DataLoader passed as `val_dataloaders[1]` yields no batch"), std::string::npos);
  EXPECT_NE(text.find("received: 3 samples, batch_size = 4, drop_last = true"), std::string::npos);
}

TEST(LoaderDiagnostics, PrefetchFactorBelowOne) {
  BoringModel model;
  Trainer trainer;
  auto e = run_error([&] {
    trainer.test(model, DataLoader(testing::random_dataset(8), {.batch_size = 4, .num_workers = 1, .prefetch_factor = 0}));
  });
  EXPECT_TRUE(e.has("LC0202"));
  EXPECT_NE(std::string(e.what()).find("DataLoader option `prefetch_factor` must be >= 1 (dataloaders)"), std::string::npos);
}

TEST(LoaderDiagnostics, AnEmptyDatasetSaysSo) {
  BoringModel model;
  Trainer trainer;
  auto e = run_error([&] { trainer.test(model, random_loader(0, 4)); });
  EXPECT_TRUE(e.has("LC0203"));
  EXPECT_NE(std::string(e.what()).find("the dataset is empty"), std::string::npos);
}

TEST(LoaderDiagnostics, ValCheckIntervalLongerThanAnEpoch) {
  BoringModel model;
  Trainer trainer({.max_epochs = 1, .val_check_interval = 50});
  auto e = run_error([&] { trainer.fit(model, random_loader(16, 4), random_loader(8, 4)); });
  EXPECT_TRUE(e.has("LC0117"));
  EXPECT_NE(std::string(e.what()).find("received: 50 with 4 training batches per epoch"), std::string::npos);
  EXPECT_EQ(model.training_steps, 0);
}

/// A module whose configure_optimizers returns what the test sets.
struct Configurable : BoringModel {
  std::function<OptimizerConfig(Configurable&)> make;
  OptimizerConfig configure_optimizers() override { return make(*this); }
};

std::unique_ptr<torch::optim::SGD> sgd(torch::nn::Module& module) {
  return std::make_unique<torch::optim::SGD>(module.parameters(), torch::optim::SGDOptions(0.1));
}

TEST(OptimizerDiagnostics, SchedulerOptionsAreCheckedBeforeTraining) {
  Configurable model;
  model.make = [](Configurable& m) {
    OptimizerConfig config;
    auto& optimizer = config.add(sgd(m));
    config.add_scheduler(std::make_unique<StepLR>(optimizer, StepLROptions{}), {.interval = "epoc"});
    config.add_scheduler(std::make_unique<StepLR>(optimizer, StepLROptions{}), {.frequency = 0});
    config.add_scheduler(std::make_unique<ReduceLROnPlateau>(optimizer), {});
    return config;
  };
  Trainer trainer({.max_epochs = 1});
  auto e = run_error([&] { trainer.fit(model, random_loader(8, 4)); });
  EXPECT_EQ(model.training_steps, 0);
  const std::string text = e.what();
  EXPECT_NE(text.find("error[LC0308]: scheduler option `interval` has an unknown value \"epoc\""), std::string::npos);
  EXPECT_NE(text.find("did you mean \"epoch\"?"), std::string::npos);
  EXPECT_NE(text.find("error[LC0309]: scheduler option `frequency` must be >= 1"), std::string::npos);
  EXPECT_NE(text.find("error[LC0307]: ReduceLROnPlateau needs a metric to monitor"), std::string::npos);
}

TEST(OptimizerDiagnostics, ASchedulerOfAForeignOptimizer) {
  BoringModel other;
  auto foreign = sgd(other);
  Configurable model;
  model.make = [&](Configurable& m) {
    OptimizerConfig config;
    config.add(sgd(m));
    config.add_scheduler(std::make_unique<StepLR>(*foreign, StepLROptions{}));
    return config;
  };
  Trainer trainer({.max_epochs = 1});
  auto e = run_error([&] { trainer.fit(model, random_loader(8, 4)); });
  EXPECT_TRUE(e.has("LC0310"));
  EXPECT_NE(std::string(e.what()).find("StepLR schedules an optimizer that configure_optimizers did not return"),
            std::string::npos);
}

TEST(OptimizerDiagnostics, SeveralOptimizersNeedManualOptimization) {
  Configurable model;
  model.make = [](Configurable& m) {
    OptimizerConfig config;
    config.add(sgd(m));
    config.add(sgd(m));
    return config;
  };
  Trainer trainer({.max_epochs = 1});
  auto e = run_error([&] { trainer.fit(model, random_loader(8, 4)); });
  EXPECT_TRUE(e.has("LC0312"));
  EXPECT_NE(std::string(e.what()).find("set `automatic_optimization = false`"), std::string::npos);
}

TEST(OptimizerDiagnostics, ManualOptimizationRejectsAccumulationAndClipping) {
  BoringModel model;
  model.automatic_optimization = false;
  Trainer trainer({.max_epochs = 1, .accumulate_grad_batches = 2, .gradient_clip_val = 1.0});
  auto e = run_error([&] { trainer.fit(model, random_loader(8, 4)); });
  EXPECT_TRUE(e.has("LC0311"));
  EXPECT_TRUE(e.has("LC0313"));
  EXPECT_NE(std::string(e.what()).find("`accumulate_grad_batches` does not apply to manual optimization"),
            std::string::npos);
}

TEST(OptimizerDiagnostics, AnOptimizerOfAnotherModuleAndAMissingConfigureOptimizers) {
  BoringModel other;
  Configurable model;
  model.make = [&](Configurable&) {
    OptimizerConfig config;
    config.add(sgd(other));
    return config;
  };
  Trainer trainer({.max_epochs = 1});
  auto e = run_error([&] { trainer.fit(model, random_loader(8, 4)); });
  EXPECT_TRUE(e.has("LC0315"));
  EXPECT_NE(std::string(e.what()).find("optimizer 0 holds no parameter of the module"), std::string::npos);

  struct NoConfigure : LightningModule {
    torch::nn::Linear layer{nullptr};
    NoConfigure() { layer = register_module("layer", torch::nn::Linear(32, 2)); }
    StepOutput training_step(const Batch& batch, int64_t) override {
      return torch::nn::functional::cross_entropy(layer->forward(batch[0]), batch[1]);
    }
  };
  NoConfigure bare;
  e = run_error([&] { trainer.fit(bare, random_loader(8, 4)); });
  EXPECT_TRUE(e.has("LC0316"));
  EXPECT_NE(std::string(e.what()).find("the module has no `configure_optimizers`, which `fit` needs"), std::string::npos);
  EXPECT_EQ(trainer.global_step(), 0);
}

TEST(LogDiagnostics, NonScalarValuesConflictingOptionsAndHooksThatCannotLog) {
  struct Logging : BoringModel {
    int mode = 0;
    StepOutput training_step(const Batch& batch, int64_t) override {
      auto value = loss(batch);
      if (mode == 0) log("per_sample", forward(batch[0]).sum(1));
      if (mode == 1) {
        log("loss", value);
        log("loss", value, {.prog_bar = true});
      }
      return value;
    }
    OptimizerConfig configure_optimizers() override {
      if (mode == 2) log("lr", 0.1);
      return BoringModel::configure_optimizers();
    }
  };
  const std::vector<std::pair<const char*, const char*>> expected = {
      {"LC0340", "log(\"per_sample\") was given a tensor with 4 elements; a logged value is one number"},
      {"LC0341", "\"loss\" is logged twice with different options"},
      {"LC0342", "log(\"lr\") was called from a hook that cannot log"}};
  for (int mode = 0; mode < 3; ++mode) {
    Logging model;
    model.mode = mode;
    Trainer trainer({.max_epochs = 1});
    auto e = run_error([&] { trainer.fit(model, random_loader(8, 4)); });
    EXPECT_TRUE(e.has(expected[mode].first)) << e.what();
    EXPECT_NE(std::string(e.what()).find(expected[mode].second), std::string::npos) << e.what();
    EXPECT_EQ(trainer.global_step(), 0);
  }
}

TEST(LogDiagnostics, AMistakeFoundWhileTrainingSaysWhenInTheLastLine) {
  // The probe runs batch 0 only: a conflicting log in epoch 1's second batch is found by the run.
  struct LateConflict : BoringModel {
    StepOutput training_step(const Batch& batch, int64_t batch_idx) override {
      auto value = loss(batch);
      log("loss", value, {.prog_bar = trainer().current_epoch() == 1 && batch_idx == 1});
      return value;
    }
  };
  LateConflict model;
  Trainer trainer({.max_epochs = 2, .logger = false, .enable_progress_bar = false, .enable_model_summary = false,
                   .enable_checkpointing = false});
  auto e = run_error([&] { trainer.fit(model, random_loader(8, 4)); });
  EXPECT_TRUE(e.has("LC0341")) << e.what();
  EXPECT_EQ(e.stage(), "during fit, in epoch 1 at global step 3") << e.what() << trainer.global_step();
  const std::string text = e.what();
  EXPECT_EQ(text.substr(text.rfind('\n') + 1), "1 error found during fit, in epoch 1 at global step 3");
}

TEST(OptimizerDiagnostics, NoOptimizerIsAWarningAndTrainingStillRuns) {
  Configurable model;
  model.make = [](Configurable&) { return OptimizerConfig(); };
  Trainer trainer({.max_epochs = 1});
  console::forget_warnings();
  ::testing::internal::CaptureStderr();
  trainer.fit(model, random_loader(8, 4));
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find("warning[LC0306]: `configure_optimizers` returned no optimizer"), std::string::npos);
  EXPECT_EQ(model.training_steps, 2);
  EXPECT_EQ(trainer.global_step(), 0);
}

}  // namespace
}  // namespace lightning
