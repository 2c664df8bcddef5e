// The `lightning-cpp` command line: configs, overrides, --print_config, and every config error
// reported together with its file location.

#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/cli/cli.h>
#include <lightning/cli/registry.h>
#include <lightning/demos/datamodules.h>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/support.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pl = lightning;
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

struct Result {
  int code;
  std::string out, err;
};

Result cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = pl::cli::run(args, out, err);
  return {code, out.str(), err.str()};
}

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::absolute(path).parent_path());
  std::ofstream(path) << text;
}

const std::string kIris = LIGHTNING_TEST_DATA_DIR "/iris.csv";

/// A small, quiet run on iris; `trainer_extra` lines go under `trainer:`.
std::string iris_config(const std::string& trainer_extra = "") {
  return "seed_everything: 7\n"
         "trainer:\n"
         "  max_epochs: 2\n"
         "  enable_progress_bar: false\n"
         "  enable_model_summary: false\n" +
         trainer_extra +
         "model:\n"
         "  class_path: MLPClassifier\n"
         "  init_args: {in_features: 4, out_features: 3, hidden: [8]}\n"
         "data:\n"
         "  class_path: CSVDataModule\n"
         "  init_args: {path: " + kIris + ", skip_rows: 1, batch_size: 16}\n";
}

YAML::Node printed(std::vector<std::string> args) {
  args.insert(args.begin(), "fit");
  args.push_back("--print_config");
  auto result = cli(args);
  EXPECT_EQ(result.code, 0) << result.err;
  return YAML::Load(result.out);
}

/// The diagnostics of a failed run, from `--errors=json`.
nlohmann::json diagnostics_of(std::vector<std::string> args) {
  args.push_back("--errors=json");
  auto result = cli(args);
  EXPECT_EQ(result.code, pl::cli::kExitMisconfiguration) << result.out << result.err;
  return nlohmann::json::parse(result.out).at("diagnostics");
}

const nlohmann::json* find_code(const nlohmann::json& diagnostics, const std::string& code) {
  for (const auto& d : diagnostics) {
    if (d.at("code") == code) return &d;
  }
  return nullptr;
}

std::string location_text(const nlohmann::json& d) {
  const auto& l = d.at("location");
  if (l.is_null()) return "(none)";
  return l.at("line").get<int64_t>() > 0
             ? fmt::format("{}:{}:{}", l.at("file").get<std::string>(), l.at("line").get<int64_t>(), l.at("column").get<int64_t>())
             : l.at("file").get<std::string>();
}

/// Each test in a folder of its own: runs number their log folders from version_0.
class InTempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = fs::current_path();
    fs::current_path(dir_.path());
    std::ofstream("file.txt") << "a file where a folder should be\n";
  }
  void TearDown() override { fs::current_path(previous_); }

 private:
  pl::testing::TempDir dir_;
  fs::path previous_;
};
using CommandLine = InTempDir;
using ConfigErrors = InTempDir;
using Registry = InTempDir;

}  // namespace

TEST_F(CommandLine, FitTrainsFromAConfigAndSavesItNextToTheLogs) {
  write("iris.yaml", iris_config());
  auto result = cli({"fit", "--config", "iris.yaml"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("fit: 2 epochs, 14 optimizer steps"));  // 106 training rows: 7 batches of 16
  EXPECT_THAT(result.out, HasSubstr("val_acc"));
  const auto saved = YAML::LoadFile("lightning_logs/version_0/config.yaml");
  EXPECT_EQ(saved["seed_everything"].as<int64_t>(), 7);
  EXPECT_EQ(saved["trainer"]["max_epochs"].as<int64_t>(), 2);
  EXPECT_EQ(saved["trainer"]["limit_train_batches"].Scalar(), "1.0");  // a fraction stays a fraction
  EXPECT_EQ(saved["model"]["init_args"]["lr"].Scalar(), "0.001");
}

TEST_F(CommandLine, EachOverrideFormReachesTheConfig) {
  write("iris.yaml", iris_config());
  auto config = printed({"--config", "iris.yaml", "--trainer.max_epochs=5", "--trainer.accelerator", "cpu",
                         "--model.init_args.hidden=[16, 4]", "--trainer.callbacks+=EarlyStopping",
                         "--trainer.callbacks[0].init_args.monitor=val_loss", "--data.init_args.batch_size=8"});
  EXPECT_EQ(config["trainer"]["max_epochs"].as<int64_t>(), 5);
  EXPECT_EQ(config["trainer"]["accelerator"].as<std::string>(), "cpu");
  EXPECT_EQ(config["model"]["init_args"]["hidden"].as<std::vector<int64_t>>(), (std::vector<int64_t>{16, 4}));
  ASSERT_EQ(config["trainer"]["callbacks"].size(), 1u);
  EXPECT_EQ(config["trainer"]["callbacks"][0]["class_path"].as<std::string>(), "EarlyStopping");
  EXPECT_EQ(config["trainer"]["callbacks"][0]["init_args"]["monitor"].as<std::string>(), "val_loss");
  EXPECT_EQ(config["trainer"]["callbacks"][0]["init_args"]["patience"].as<int64_t>(), 3);  // default filled in
  EXPECT_EQ(config["data"]["init_args"]["batch_size"].as<int64_t>(), 8);

  auto replaced = printed({"--config", "iris.yaml", "--model=MLPRegressor"});
  EXPECT_EQ(replaced["model"]["class_path"].as<std::string>(), "MLPRegressor");
  EXPECT_EQ(replaced["model"]["init_args"]["in_features"].as<int64_t>(), 0);  // the old class's arguments went with it
}

TEST_F(CommandLine, LaterConfigsOverrideEarlierOnesAndTheCommandLineOverridesAll) {
  write("a.yaml", iris_config() + "ckpt_path: null\n");
  write("b.yaml",
        "trainer:\n  max_epochs: 4\n  limit_val_batches: 2\n"
        "model:\n  init_args:\n    dropout: 0.25\n");
  write("c.yaml", "model:\n  class_path: MLPRegressor\n  init_args:\n    in_features: 4\n");
  auto merged = printed({"--config", "a.yaml", "--config", "b.yaml", "--trainer.limit_val_batches=3"});
  EXPECT_EQ(merged["trainer"]["max_epochs"].as<int64_t>(), 4);                 // b over a
  EXPECT_EQ(merged["trainer"]["enable_progress_bar"].as<bool>(), false);       // a, untouched by b
  EXPECT_EQ(merged["trainer"]["limit_val_batches"].as<int64_t>(), 3);          // command line over b
  EXPECT_EQ(merged["model"]["init_args"]["dropout"].as<double>(), 0.25);       // maps merge key by key
  EXPECT_EQ(merged["model"]["init_args"]["out_features"].as<int64_t>(), 3);
  auto switched = printed({"--config", "a.yaml", "--config", "b.yaml", "--config", "c.yaml"});
  EXPECT_EQ(switched["model"]["class_path"].as<std::string>(), "MLPRegressor");
  EXPECT_EQ(switched["model"]["init_args"]["dropout"].as<double>(), 0.0);      // a new class starts afresh
  EXPECT_EQ(switched["model"]["init_args"]["out_features"].as<int64_t>(), 1);
}

TEST_F(CommandLine, PrintedConfigReadsBackToTheSameConfig) {
  write("iris.yaml", iris_config("  callbacks:\n    - class_path: ModelCheckpoint\n      init_args: {monitor: val_acc, mode: max}\n"));
  auto first = cli({"fit", "--config", "iris.yaml", "--trainer.max_epochs=3", "--print_config"});
  ASSERT_EQ(first.code, 0) << first.err;
  write("printed.yaml", first.out);
  auto second = cli({"fit", "--config", "printed.yaml", "--print_config"});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(first.out, second.out);
  EXPECT_THAT(first.out, HasSubstr("limit_train_batches: 1.0"));
  EXPECT_THAT(first.out, HasSubstr("save_top_k: 1"));
}

TEST_F(CommandLine, ADDPStrategyWithInitArgsIsReadPrintedBackAndItsErrorsPointAtTheirKeys) {
  write("iris.yaml", iris_config("  strategy:\n    class_path: DDPStrategy\n    init_args:\n"
                                 "      timeout: \"00:00:05:00\"\n      bucket_cap_mb: 0.5\n"
                                 "      process_group_backend: gloo\n"));
  auto first = cli({"fit", "--config", "iris.yaml", "--print_config"});
  ASSERT_EQ(first.code, 0) << first.err;
  const auto strategy = YAML::Load(first.out)["trainer"]["strategy"];
  EXPECT_EQ(strategy["class_path"].as<std::string>(), "DDPStrategy");
  EXPECT_EQ(strategy["init_args"]["timeout"].as<std::string>(), "00:00:05:00");  // as written
  EXPECT_EQ(strategy["init_args"]["bucket_cap_mb"].as<double>(), 0.5);
  EXPECT_EQ(strategy["init_args"]["process_group_backend"].as<std::string>(), "gloo");
  write("printed.yaml", first.out);
  auto second = cli({"fit", "--config", "printed.yaml", "--print_config"});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(first.out, second.out);

  write("bad.yaml", iris_config("  strategy:\n    class_path: DDPStrategy\n    init_args:\n"
                                "      bucket_cap_mb: -1\n      process_group_backend: nccl\n"));
  auto diagnostics = diagnostics_of({"check", "--config", "bad.yaml"});
  const auto* bucket = find_code(diagnostics, "LC0130");
  ASSERT_NE(bucket, nullptr) << diagnostics.dump(2);
  EXPECT_EQ(bucket->at("where"), "trainer.strategy.init_args.bucket_cap_mb");
  EXPECT_EQ(location_text(*bucket), "bad.yaml:9:22");
  const auto* backend = find_code(diagnostics, "LC0132");
  ASSERT_NE(backend, nullptr) << diagnostics.dump(2);
  EXPECT_EQ(backend->at("where"), "trainer.strategy.init_args.process_group_backend");
  EXPECT_EQ(backend->at("message"),
            "process_group_backend \"nccl\" communicates between CUDA devices; this trainer runs on the CPU");

  write("typo.yaml", iris_config("  strategy: {class_path: DDPStrategy, init_args: {bucket_cap: 5}}\n"));
  diagnostics = diagnostics_of({"check", "--config", "typo.yaml"});
  ASSERT_NE(find_code(diagnostics, "LC0704"), nullptr) << diagnostics.dump(2);
  EXPECT_THAT(find_code(diagnostics, "LC0704")->at("expected").get<std::string>(),
              HasSubstr("{class_path: DDPStrategy, init_args: {timeout: float (seconds)"));
}

TEST(StrategyValue, ADDPStrategyWithSettingsWritesItsInitArgsAndReadsBackEqual) {
  using Traits = pl::cli::ValueTraits<pl::StrategyOption>;
  EXPECT_EQ(Traits::to_yaml(pl::StrategyOption("ddp")).as<std::string>(), "ddp");  // defaults: the name
  const auto node = Traits::to_yaml(pl::DDPStrategy{.timeout = std::chrono::seconds(90), .bucket_cap_mb = 4,
                                                    .process_group_backend = "gloo"});
  EXPECT_EQ(node["init_args"]["timeout"].as<double>(), 90.0);
  const auto back = Traits::from_yaml(YAML::Load(YAML::Dump(node)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->name(), "ddp");
  EXPECT_EQ(back->ddp().timeout, std::chrono::seconds(90));
  EXPECT_EQ(back->ddp().bucket_cap_mb, 4.0);
  EXPECT_EQ(back->ddp().process_group_backend, "gloo");
  EXPECT_FALSE(Traits::from_yaml(YAML::Load("{class_path: DDPStrategy, init_args: {timeout: null}}")).has_value());
  EXPECT_FALSE(Traits::from_yaml(YAML::Load("{class_path: FSDPStrategy}")).has_value());
}

TEST(StrategyValue, LightningsFindUnusedParametersInitArgIsAcceptedAsABool) {
  using Traits = pl::cli::ValueTraits<pl::StrategyOption>;
  const auto read = Traits::from_yaml(YAML::Load(
      "{class_path: lightning.pytorch.strategies.DDPStrategy, init_args: {find_unused_parameters: true, "
      "bucket_cap_mb: 5}}"));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->name(), "ddp");
  EXPECT_EQ(read->ddp().bucket_cap_mb, 5.0);
  EXPECT_FALSE(
      Traits::from_yaml(YAML::Load("{class_path: DDPStrategy, init_args: {find_unused_parameters: [1]}}")).has_value());
  EXPECT_EQ(Traits::from_yaml(YAML::Load("ddp_find_unused_parameters_true"))->name(), "ddp_find_unused_parameters_true");
}

TEST_F(CommandLine, SavedConfigRepeatsTheRunWithIdenticalWeights) {
  // seed_everything: true draws a seed; the saved config holds it, so the rerun starts alike.
  write("iris.yaml", iris_config("  callbacks:\n    - class_path: ModelCheckpoint\n      init_args: {save_last: true}\n"));
  ASSERT_EQ(cli({"fit", "--config", "iris.yaml", "--seed_everything=true"}).code, 0);
  const auto saved = YAML::LoadFile("lightning_logs/version_0/config.yaml");
  EXPECT_NE(saved["seed_everything"].Scalar(), "true");
  auto rerun = cli({"fit", "--config", "lightning_logs/version_0/config.yaml"});
  ASSERT_EQ(rerun.code, 0) << rerun.err;
  auto first = pl::load_checkpoint_file("lightning_logs/version_0/checkpoints/last.ckpt").at("state_dict").toGenericDict();
  auto second = pl::load_checkpoint_file("lightning_logs/version_1/checkpoints/last.ckpt").at("state_dict").toGenericDict();
  ASSERT_EQ(first.size(), 4u);  // two Linear layers
  for (const auto& entry : first) {
    EXPECT_TRUE(entry.value().toTensor().equal(second.at(entry.key()).toTensor())) << entry.key().toStringRef();
  }
}

TEST_F(CommandLine, TestEvaluatesACheckpointAndPrintsItsMetrics) {
  write("iris.yaml", iris_config("  callbacks:\n    - class_path: ModelCheckpoint\n      init_args: {filename: best, monitor: val_acc, mode: max}\n"));
  ASSERT_EQ(cli({"fit", "--config", "iris.yaml"}).code, 0);
  auto result = cli({"test", "--config", "iris.yaml", "--ckpt_path=lightning_logs/version_0/checkpoints/best.ckpt"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("test results:"));
  EXPECT_THAT(result.out, HasSubstr("test_acc"));
  EXPECT_THAT(result.out, HasSubstr("test_loss"));
}

TEST_F(CommandLine, PredictWritesItsPredictionsWithAPredictionWriter) {
  write("iris.yaml", iris_config("  callbacks:\n    - class_path: ModelCheckpoint\n      init_args: {save_last: true}\n"
                                 "    - class_path: PredictionWriter\n      init_args: {output_dir: predictions}\n"));
  ASSERT_EQ(cli({"fit", "--config", "iris.yaml"}).code, 0);
  auto result = cli({"predict", "--config", "iris.yaml", "--ckpt_path=lightning_logs/version_0/checkpoints/last.ckpt"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("predict: dataloader 0: 2 batches"));
  // MLPClassifier predicts class probabilities: every row sums to 1.
  const std::string output = pl::testing::run_python(
      "import sys, torch; p = torch.load(sys.argv[1], weights_only=True); rows = torch.cat(p); "
      "print(len(p), list(rows.shape), bool(torch.allclose(rows.sum(1), torch.ones(len(rows)))))",
      {"predictions/predictions.pt"});
  EXPECT_EQ(output, "2 [22, 3] True\n");  // 15% of iris's 150 rows
}

TEST_F(ConfigErrors, UnknownKeyPointsAtItsLineWithTheClosestKey) {
  write("c.yaml", iris_config("  max_epoch: 5\n"));
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml"});
  const auto* d = find_code(diagnostics, "LC0703");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->at("where"), "trainer.max_epoch");
  EXPECT_EQ(location_text(*d), "c.yaml:6:3");
  EXPECT_EQ(d->at("help"), "did you mean \"max_epochs\"?");
}

TEST_F(ConfigErrors, UnknownClassPathSuggestsTheClosestRegisteredName) {
  write("c.yaml", iris_config("  callbacks:\n    - class_path: EarlyStoping\n      init_args: {monitor: val_loss}\n"));
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml"});
  const auto* d = find_code(diagnostics, "LC0705");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->at("where"), "trainer.callbacks[0].class_path");
  EXPECT_EQ(location_text(*d), "c.yaml:7:19");
  EXPECT_EQ(d->at("help"), "did you mean \"EarlyStopping\"?");
  EXPECT_THAT(d->at("expected").get<std::string>(), HasSubstr("\"ModelCheckpoint\""));
}

TEST_F(ConfigErrors, WrongTypeNamesTheTypeExpected) {
  write("c.yaml", iris_config("  max_steps: ten\n  gradient_clip_val: [1]\n"));
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml"});
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0704");
  EXPECT_EQ(diagnostics[0].at("where"), "trainer.max_steps");
  EXPECT_EQ(diagnostics[0].at("received"), "\"ten\"");
  EXPECT_EQ(diagnostics[0].at("expected"), "int");
  EXPECT_EQ(location_text(diagnostics[0]), "c.yaml:6:14");
  EXPECT_EQ(diagnostics[1].at("expected"), "float | null");
}

TEST_F(ConfigErrors, MissingRequiredInitArgumentIsNamed) {
  write("c.yaml", iris_config());
  write("d.yaml", "trainer:\n  callbacks:\n    - class_path: EarlyStopping\n");
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml", "--config", "d.yaml"});
  const auto* d = find_code(diagnostics, "LC0706");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->at("message"), "EarlyStopping needs the init argument `monitor`");
  EXPECT_EQ(d->at("where"), "trainer.callbacks[0].init_args.monitor");
  EXPECT_EQ(location_text(*d), "d.yaml:3:7");  // the item has no init_args: the item itself
}

TEST_F(ConfigErrors, AMistakeOfOneOfSeveralCallbacksOfAClassPointsAtThatOne) {
  // Both checkpoints set `monitor`: the diagnostic's subject names which of the Trainer's callbacks
  // it is about (the Trainer reorders them, checkpoints last), and the CLI points at that one.
  write("c.yaml", iris_config("  callbacks:\n"
                              "    - class_path: EarlyStopping\n"
                              "      init_args: {monitor: val_loss}\n"
                              "    - class_path: ModelCheckpoint\n"
                              "      init_args: {monitor: val_loss}\n"
                              "    - class_path: ModelCheckpoint\n"
                              "      init_args: {monitor: val_accuracy}\n"));
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml"});
  ASSERT_EQ(diagnostics.size(), 1u) << diagnostics.dump(2);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0508");
  EXPECT_EQ(diagnostics[0].at("where"), "trainer.callbacks[2].init_args.monitor");
  EXPECT_EQ(location_text(diagnostics[0]), "c.yaml:12:28");
  EXPECT_EQ(diagnostics[0].at("subject").at("index"), 2);
  EXPECT_EQ(diagnostics[0].at("help"), "did you mean \"val_acc\"?");
}

TEST_F(ConfigErrors, KeyWrittenTwiceInOneMapIsAnError) {
  write("c.yaml", iris_config() + "trainer:\n  max_epochs: 9\n");
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml"});
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0713");
  EXPECT_EQ(diagnostics[0].at("where"), "trainer");
  EXPECT_EQ(location_text(diagnostics[0]), "c.yaml:12:1");
  EXPECT_EQ(diagnostics[0].at("received"), "also at c.yaml:2:1");
}

TEST_F(ConfigErrors, YamlSyntaxErrorPointsAtItsLineAndColumn) {
  write("c.yaml", "trainer:\n  max_epochs: [1, 2\n");
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml"});
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0701");
  EXPECT_EQ(diagnostics[0].at("location").at("file"), "c.yaml");
  EXPECT_EQ(diagnostics[0].at("location").at("line"), 3);
}

TEST_F(ConfigErrors, MissingConfigFileIsNamed) {
  auto diagnostics = diagnostics_of({"fit", "--config", "nowhere.yaml"});
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0702");
  EXPECT_EQ(diagnostics[0].at("message"), "config file `nowhere.yaml` cannot be read");
}

TEST_F(ConfigErrors, UnknownSectionsAndASchedulerWithoutOptimizerAreReported) {
  write("c.yaml", iris_config() + "trainr:\n  max_epochs: 1\nlr_scheduler:\n  class_path: StepLR\n");
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml"});
  const auto* unknown = find_code(diagnostics, "LC0703");
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->at("help"), "did you mean \"trainer\"?");
  EXPECT_EQ(location_text(*unknown), "c.yaml:12:1");
  const auto* alone = find_code(diagnostics, "LC0709");  // a scheduler needs an optimizer section
  ASSERT_NE(alone, nullptr);
  EXPECT_EQ(alone->at("message"), "an `lr_scheduler:` section needs an `optimizer:` section");
  EXPECT_EQ(location_text(*alone), "c.yaml:14:1");
}

TEST_F(ConfigErrors, CommandLineMistakesNameTheArgument) {
  write("c.yaml", iris_config());
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml", "--trainer.callbacks[2].init_args.x=1", "stray",
                                     "--trainer.max_epochs=ten"});
  ASSERT_EQ(diagnostics.size(), 2u);  // reading stops before the types are checked
  EXPECT_EQ(diagnostics[0].at("code"), "LC0707");
  EXPECT_EQ(diagnostics[0].at("message"), "`trainer.callbacks` has no item 2 to override");
  EXPECT_EQ(location_text(diagnostics[0]), "command line (--trainer.callbacks[2].init_args.x=1)");
  EXPECT_EQ(diagnostics[1].at("message"), "unexpected command-line argument `stray`");
  auto typed = diagnostics_of({"fit", "--config", "c.yaml", "--trainer.max_epochs=ten"});
  ASSERT_EQ(typed.size(), 1u);
  EXPECT_EQ(typed[0].at("code"), "LC0704");
  EXPECT_EQ(location_text(typed[0]), "command line (--trainer.max_epochs=ten)");
}

// Each of these once ended the process with an uncaught exception (exit 134).
TEST_F(ConfigErrors, AKeyThatIsAListOrAMapIsLC0717InAFileAndInAnOverride) {
  write("c.yaml", iris_config() + "optimizer:\n  ? [a]\n  : 1\n");
  auto in_file = diagnostics_of({"fit", "--config", "c.yaml"});
  ASSERT_EQ(in_file.size(), 1u);
  EXPECT_EQ(in_file[0].at("code"), "LC0717");
  EXPECT_EQ(in_file[0].at("message"), "a key in `optimizer` is not a name");
  EXPECT_EQ(in_file[0].at("received"), "[a]");
  EXPECT_EQ(location_text(in_file[0]), "c.yaml:13:5");
  write("d.yaml", iris_config());
  auto in_override = diagnostics_of({"fit", "--config", "d.yaml", "--trainer.plugins={[a]: 1}"});
  ASSERT_EQ(in_override.size(), 1u);
  EXPECT_EQ(in_override[0].at("code"), "LC0717");
  EXPECT_EQ(location_text(in_override[0]), "command line (--trainer.plugins={[a]: 1})");
}

TEST_F(ConfigErrors, AnOverrideIndexBeyond64BitsIsLC0707) {
  write("c.yaml", iris_config());
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml", "--trainer.callbacks[18446744073709551616].x=1"});
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0707");
  EXPECT_EQ(diagnostics[0].at("message"), "`trainer.callbacks` has no item 18446744073709551616 to override");
}

// Seven levels of aliases, each naming the one before nine times, expand to 9^7 values: reading
// them took over 60 s and 5.5 GB; the walk now stops after 100,000.
TEST_F(ConfigErrors, AnAliasBombIsLC0719) {
  std::string text = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (char level = 'b'; level <= 'g'; ++level) {
    const char previous = static_cast<char>(level - 1);
    text += fmt::format("{0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n", level, previous);
  }
  write("bomb.yaml", text);
  auto diagnostics = diagnostics_of({"fit", "--config", "bomb.yaml"});
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0719");
  EXPECT_EQ(diagnostics[0].at("message"), "`bomb.yaml` holds more than 100000 values once its aliases are expanded");
}

TEST_F(ConfigErrors, NestingDeeperThan64LevelsIsLC0718WithTheLimit) {
  write("deep.yaml", "trainer: " + std::string(100, '[') + std::string(100, ']') + "\n");
  write("deeper.yaml", "trainer: " + std::string(5000, '[') + std::string(5000, ']') + "\n");  // beyond yaml-cpp's own bound
  for (const char* file : {"deep.yaml", "deeper.yaml"}) {
    auto diagnostics = diagnostics_of({"fit", "--config", file});
    ASSERT_EQ(diagnostics.size(), 1u) << file;
    EXPECT_EQ(diagnostics[0].at("code"), "LC0718") << file;
    EXPECT_EQ(diagnostics[0].at("message"), fmt::format("`{}` is nested more than 64 levels deep", file));
    EXPECT_EQ(diagnostics[0].at("expected"), "at most 64 levels of maps and lists");
  }
}

TEST_F(ConfigErrors, ACommandLineCLI11CannotReadIsLC0707) {
  auto result = cli({"fit", "--trainer.max_epochs", "--", "5"});
  EXPECT_EQ(result.code, pl::cli::kExitMisconfiguration);
  EXPECT_THAT(result.err, HasSubstr("error[LC0707]: the command line cannot be read: The following argument was not expected: 5"));
  EXPECT_THAT(result.err, HasSubstr("received: \"fit --trainer.max_epochs -- 5\""));
}

TEST_F(ConfigErrors, MissingSectionsAreNamed) {
  write("c.yaml", "trainer:\n  max_epochs: 1\n");
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml"});
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0708");
  EXPECT_EQ(diagnostics[0].at("message"), "the config has no `model:` section");
  EXPECT_THAT(diagnostics[0].at("expected").get<std::string>(), HasSubstr("\"MLPClassifier\", \"MLPRegressor\""));
  EXPECT_EQ(diagnostics[1].at("message"), "the config has no `data:` section");
  write("d.yaml", iris_config());
  auto no_class = diagnostics_of({"fit", "--config", "d.yaml", "--model.class_path=null"});
  ASSERT_EQ(no_class.size(), 1u);
  EXPECT_EQ(no_class[0].at("message"), "`model` names no class");
}

TEST_F(ConfigErrors, BuiltInModelAndDataOptionsAreCheckedWithTheirLocation) {
  write("c.yaml", iris_config());
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml", "--model.init_args.dropout=1.5",
                                     "--model.init_args.optimizer=adan", "--data.init_args.val_fraction=0.6",
                                     "--data.init_args.test_fraction=0.5"});
  ASSERT_EQ(diagnostics.size(), 3u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0710");
  EXPECT_EQ(diagnostics[0].at("where"), "model.init_args.dropout");
  EXPECT_EQ(location_text(diagnostics[0]), "command line (--model.init_args.dropout=1.5)");
  EXPECT_EQ(diagnostics[1].at("code"), "LC0710");
  EXPECT_EQ(diagnostics[1].at("help"), "did you mean \"adam\"?");
  EXPECT_EQ(diagnostics[2].at("code"), "LC0711");
  EXPECT_EQ(diagnostics[2].at("message"), "CSVDataModule holds out every row: nothing is left to train on");
}

TEST_F(CommandLine, OptimizerAndSchedulerSectionsReplaceConfigureOptimizers) {
  write("c.yaml", iris_config("  callbacks:\n    - class_path: ModelCheckpoint\n      init_args: {save_last: true}\n") +
                      "optimizer:\n  class_path: SGD\n  init_args: {lr: 0.5, momentum: 0.9}\n"
                      "lr_scheduler:\n  class_path: StepLR\n  init_args: {step_size: 1, gamma: 0.5}\n");
  auto result = cli({"fit", "--config", "c.yaml"});
  ASSERT_EQ(result.code, 0) << result.err;
  auto checkpoint = pl::load_checkpoint_file("lightning_logs/version_0/checkpoints/last.ckpt");
  auto optimizers = checkpoint.at("optimizer_states").toList();
  ASSERT_EQ(optimizers.size(), 1u);
  auto group = optimizers.get(0).toGenericDict().at("param_groups").toList().get(0).toGenericDict();
  EXPECT_DOUBLE_EQ(group.at("momentum").toDouble(), 0.9);  // SGD, not MLPClassifier's own Adam
  // 0.5 halved by each of the two epochs: as in Lightning (its own checkpoints show it), an
  // epoch's scheduler steps with its last batch, before the checkpoint saved at the epoch's end.
  EXPECT_DOUBLE_EQ(group.at("lr").toDouble(), 0.125);
  EXPECT_EQ(checkpoint.at("lr_schedulers").toList().size(), 1u);
  auto printed_config = printed({"--config", "c.yaml"});
  EXPECT_EQ(printed_config["lr_scheduler"]["init_args"]["interval"].as<std::string>(), "epoch");
  EXPECT_EQ(printed_config["optimizer"]["init_args"]["nesterov"].as<bool>(), false);
}

TEST_F(ConfigErrors, SchedulerMonitorThatIsNotLoggedPointsAtTheSection) {
  write("c.yaml", iris_config() + "optimizer: SGD\nlr_scheduler:\n  class_path: ReduceLROnPlateau\n  init_args:\n    monitor: val_los\n");
  auto diagnostics = diagnostics_of({"check", "--config", "c.yaml"});
  const auto* d = find_code(diagnostics, "LC0314");
  ASSERT_NE(d, nullptr) << diagnostics.dump(2);
  EXPECT_EQ(d->at("where"), "lr_scheduler.init_args.monitor");
  EXPECT_EQ(location_text(*d), "c.yaml:16:14");
  EXPECT_EQ(d->at("help"), "did you mean \"val_loss\"?");
}

TEST_F(ConfigErrors, OptimizerAndSchedulerArgumentsAreChecked) {
  write("c.yaml", iris_config());
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml", "--optimizer=Adam", "--optimizer.init_args.lr=0",
                                     "--optimizer.init_args.betas=[0.9]", "--lr_scheduler=StepLR",
                                     "--lr_scheduler.init_args.step_size=0"});
  ASSERT_EQ(diagnostics.size(), 3u) << diagnostics.dump(2);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0714");
  EXPECT_EQ(diagnostics[0].at("where"), "optimizer.init_args.lr");
  EXPECT_EQ(location_text(diagnostics[0]), "command line (--optimizer.init_args.lr=0)");
  EXPECT_EQ(diagnostics[1].at("where"), "optimizer.init_args.betas");
  // The scheduler's own check (LC0317) points at the init argument it names.
  EXPECT_EQ(diagnostics[2].at("code"), "LC0317");
  EXPECT_EQ(diagnostics[2].at("message"), "StepLR option `step_size` must be >= 1");
  EXPECT_EQ(diagnostics[2].at("where"), "lr_scheduler.init_args.step_size");
  EXPECT_EQ(location_text(diagnostics[2]), "command line (--lr_scheduler.init_args.step_size=0)");
  auto plateau = diagnostics_of({"fit", "--config", "c.yaml", "--optimizer=SGD", "--lr_scheduler=ReduceLROnPlateau"});
  ASSERT_EQ(plateau.size(), 1u);
  EXPECT_EQ(plateau[0].at("message"), "ReduceLROnPlateau needs the init argument `monitor`");
}

TEST_F(ConfigErrors, FashionMNISTDataModuleNamesAMissingDataFolder) {
  write("c.yaml", iris_config());
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml", "--data=FashionMNISTDataModule",
                                     "--data.init_args.data_dir=nowhere", "--data.init_args.val_size=60000"});
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0711");
  EXPECT_EQ(diagnostics[0].at("where"), "data.init_args.data_dir");
  EXPECT_EQ(diagnostics[0].at("message"), "FashionMNISTDataModule finds no `train-images-idx3-ubyte.gz` in `data_dir`");
  EXPECT_EQ(diagnostics[1].at("where"), "data.init_args.val_size");
  auto classes = diagnostics_of({"fit", "--config", "c.yaml", "--data.init_args.num_classes=0"});
  ASSERT_EQ(classes.size(), 1u);
  EXPECT_EQ(classes[0].at("code"), "LC0711");
  EXPECT_EQ(classes[0].at("where"), "data.init_args.num_classes");
  EXPECT_EQ(classes[0].at("message"), "CSVDataModule option `num_classes` must be at least 1");  // the one out-of-range form
}

TEST(DigitsDataModule, FindsTheShippedFileAndSplitsItSeventyFifteenFifteen) {
  pl::demos::DigitsDataModule data;
  data.setup("fit");
  EXPECT_EQ(data.num_features(), 64);
  EXPECT_EQ(data.train_dataloader()->dataset().size(), 1259);  // 1797 - 269 - 269
  EXPECT_EQ(data.val_dataloader().at(0).dataset().size(), 269);
  EXPECT_EQ(data.test_dataloader().at(0).dataset().size(), 269);
}

TEST(FashionMNISTDataModule, SplitsTrainingImagesAndFlattensThemForAnMLP) {
  pl::testing::TempDir cache;
  pl::demos::FashionMNISTDataModule data({.cache_dir = cache.path().string(), .val_size = 5000, .flatten = true});
  data.prepare_data();
  data.setup("fit");
  EXPECT_EQ(data.train_dataloader()->dataset().size(), 55000);
  EXPECT_EQ(data.val_dataloader().at(0).dataset().size(), 5000);
  EXPECT_EQ(data.test_dataloader().at(0).dataset().size(), 10000);
  auto batch = data.val_dataloader().at(0).batch(0)[0].tensor();  // the first validation batch
  EXPECT_EQ(batch.sizes(), (std::vector<int64_t>{64, 784}));
  EXPECT_GE(batch.min().item<float>(), 0.0f);
  EXPECT_LE(batch.max().item<float>(), 1.0f);
  EXPECT_EQ(pl::testing::files_in(cache.path()).size(), 4u);  // unpacked once, no partial file left
}

/// test_acc of the best checkpoint of the digits config, trained at `precision`.
double digits_test_accuracy(const std::string& precision) {
  const std::string root = "runs_" + precision;
  const std::string config = LIGHTNING_TEST_SOURCE_DIR "/../examples/digits/config.yaml";
  auto fit = cli({"fit", "--config", config, "--trainer.default_root_dir=" + root, "--trainer.enable_progress_bar=false",
                  "--trainer.enable_model_summary=false", "--trainer.precision=" + precision});
  EXPECT_EQ(fit.code, 0) << fit.err;
  const std::string run = root + "/lightning_logs/version_0";
  auto test = cli({"test", "--config", run + "/config.yaml", "--ckpt_path=" + run + "/checkpoints/best.ckpt"});
  EXPECT_EQ(test.code, 0) << test.err;
  std::smatch acc;
  EXPECT_TRUE(std::regex_search(test.out, acc, std::regex(R"(test_acc +([0-9.]+))"))) << test.out;
  return acc.size() > 1 ? std::stod(acc[1]) : 0.0;
}

TEST_F(CommandLine, Bf16MixedTrainsDigitsWithinOnePercentOfFloat32) {
  const double fp32 = digits_test_accuracy("32-true");
  const double bf16 = digits_test_accuracy("bf16-mixed");
  EXPECT_GE(fp32, 0.95);
  EXPECT_NEAR(bf16, fp32, 0.01);
  EXPECT_EQ(YAML::LoadFile("runs_bf16-mixed/lightning_logs/version_0/config.yaml")["trainer"]["precision"].as<std::string>(),
            "bf16-mixed");
}

TEST_F(CommandLine, MLPRegressorLearnsAColumnOfACsvFile) {
  // Petal length (column 2 of iris, 1.0 to 6.9 cm) from the other columns.
  write("r.yaml", iris_config() );
  auto result = cli({"fit", "--config", "r.yaml", "--model=MLPRegressor", "--model.init_args.in_features=4",
                     "--model.init_args.hidden=[16]", "--model.init_args.lr=0.01", "--trainer.max_epochs=30",
                     "--data.init_args.target_column=2", "--data.init_args.integer_targets=false"});
  ASSERT_EQ(result.code, 0) << result.err;
  std::smatch mae;
  ASSERT_TRUE(std::regex_search(result.out, mae, std::regex(R"(val_mae +([0-9.]+))"))) << result.out;
  EXPECT_LT(std::stod(mae[1]), 0.5);
}

TEST_F(ConfigErrors, BrokenExampleReportsItsFiveMistakesTogether) {
  auto result = cli({"check", "--config", LIGHTNING_TEST_SOURCE_DIR "/../examples/broken.yaml"});
  ASSERT_EQ(result.code, pl::cli::kExitMisconfiguration);
  EXPECT_THAT(result.err, HasSubstr("5 errors found before training started"));
  for (const char* code : {"LC0703", "LC0102", "LC0705", "LC0704", "LC0706"}) {
    EXPECT_THAT(result.err, HasSubstr(fmt::format("error[{}]", code)));
  }
  EXPECT_THAT(result.err, HasSubstr("broken.yaml:"));
}

TEST_F(CommandLine, CheckRunsTheProbeAndReportsUnloggedMonitorsWithTheirLocation) {
  write("c.yaml", iris_config("  callbacks:\n    - class_path: EarlyStopping\n      init_args: {monitor: val_accuracy}\n"));
  auto result = cli({"check", "--config", "c.yaml"});
  ASSERT_EQ(result.code, pl::cli::kExitMisconfiguration) << result.out;
  EXPECT_THAT(result.err, HasSubstr("error[LC0514]"));
  EXPECT_THAT(result.err, HasSubstr("c.yaml:8:28  trainer.callbacks[0].init_args.monitor"));
  EXPECT_THAT(result.err, HasSubstr("did you mean \"val_acc\"?"));
  EXPECT_FALSE(fs::exists("lightning_logs"));  // check trains nothing and writes nothing

  write("ok.yaml", iris_config());
  auto ok = cli({"check", "--config", "ok.yaml"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("check: no error found"));
}

// A data module with no training loader (Lightning's LightningDataModule default).
struct NoTrainingData : pl::DataModule {};
LIGHTNING_REGISTER_DATAMODULE(NoTrainingData);

TEST_F(CommandLine, CheckReportsADataModuleWithoutTrainingData) {
  write("c.yaml", iris_config());
  auto diagnostics = diagnostics_of({"check", "--config", "c.yaml", "--data=NoTrainingData"});
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0204");
  EXPECT_EQ(diagnostics[0].at("message"), "`fit` was given no data");
}

TEST_F(CommandLine, HelpListsEveryOptionWithTypeAndDefault) {
  auto result = cli({"fit", "--help"});
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("--print_config"));
  EXPECT_THAT(result.out, ::testing::ContainsRegex(R"(trainer\.max_epochs +int \| null +null)"));
  EXPECT_THAT(result.out, ::testing::ContainsRegex(R"(trainer\.limit_train_batches +int \(batches\) \| float \(fraction\) +1\.0)"));
  EXPECT_THAT(result.out, ::testing::ContainsRegex(R"(init_args\.patience +int +3)"));
  EXPECT_THAT(result.out, ::testing::ContainsRegex(R"(init_args\.path +str +\(required\))"));
}

TEST_F(CommandLine, ExplainPrintsTheDocumentationOfACode) {
  auto result = cli({"explain", "LC0102"});
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("### LC0102 — unknown `accelerator`"));
  EXPECT_THAT(result.out, Not(HasSubstr("LC0103")));
  auto unknown = cli({"explain", "LC0120x"});
  EXPECT_EQ(unknown.code, pl::cli::kExitMisconfiguration);
  EXPECT_THAT(unknown.err, HasSubstr("error[LC0712]"));
  EXPECT_THAT(unknown.err, HasSubstr("did you mean \"LC0120\"?"));
}

TEST_F(CommandLine, UnknownSubcommandSuggestsTheClosest) {
  auto result = cli({"fitt", "--config", "c.yaml"});
  EXPECT_EQ(result.code, pl::cli::kExitMisconfiguration);
  EXPECT_THAT(result.err, HasSubstr("error[LC0716]: unknown subcommand \"fitt\""));
  EXPECT_THAT(result.err, HasSubstr("did you mean \"fit\"?"));
}

// Bad data is a misconfiguration found before the first step (it once exited 1 with an uncoded
// message): coded, at its file, line and column.
TEST_F(CommandLine, BadDataInTheFileExitsWithTwoAtItsLineAndColumn) {
  write("c.yaml", iris_config());
  write("bad.csv", "1,2,0\n3,x,1\n");  // the file exists: what is wrong inside shows when it is read
  auto diagnostics = diagnostics_of({"fit", "--config", "c.yaml", "--data.init_args.path=bad.csv",
                                     "--data.init_args.skip_rows=0"});
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0205");
  EXPECT_EQ(location_text(diagnostics[0]), "bad.csv:2:2");
  EXPECT_EQ(diagnostics[0].at("message"), "\"bad.csv\" line 2 column 2: \"x\" is not a number");
  // A label beyond the classifier's 3 outputs, in a row far from the first batch.
  std::ifstream iris(kIris);
  std::ofstream labels("labels.csv");
  std::string line;
  for (int number = 1; std::getline(iris, line); ++number) labels << (number == 120 ? "6.0,3.0,4.8,1.8,99" : line) << "\n";
  labels.close();
  auto label = diagnostics_of({"fit", "--config", "c.yaml", "--data.init_args.path=labels.csv"});
  ASSERT_EQ(label.size(), 1u);
  EXPECT_EQ(label[0].at("code"), "LC0205");
  EXPECT_EQ(location_text(label[0]), "labels.csv:120:5");
  EXPECT_EQ(label[0].at("message"), "\"labels.csv\" line 120 column 5: the class target 99 is not one of the 3 classes");
  auto missing = diagnostics_of({"fit", "--config", "c.yaml", "--data.init_args.path=missing.csv"});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].at("message"), "CSVDataModule finds no file at `missing.csv`");
}

TEST_F(CommandLine, ARankALauncherStartedThatCannotReachItsMasterPrintsLC0131Itself) {
  // A loopback port bound but not listening: connecting to it is refused, and no one else takes it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string port = std::to_string(ntohs(address.sin_port));
  // What torchrun gives its second worker; its agent would serve the store.
  const std::map<std::string, std::string> torchrun{{"RANK", "1"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "2"},
                                                    {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"},
                                                    {"MASTER_PORT", port}, {"TORCHELASTIC_RUN_ID", "none"},
                                                    {"TORCHELASTIC_USE_AGENT_STORE", "True"}};
  for (const auto& [name, value] : torchrun) ::setenv(name.c_str(), value.c_str(), 1);
  write("c.yaml", iris_config("  devices: 2\n  strategy: {class_path: DDPStrategy, init_args: {timeout: 1}}\n"));
  auto result = cli({"fit", "--config", "c.yaml"});
  for (const auto& [name, value] : torchrun) ::unsetenv(name.c_str());
  ::close(fd);
  EXPECT_EQ(result.code, pl::cli::kExitMisconfiguration);
  EXPECT_THAT(result.err, HasSubstr("error[LC0131]: rank 1 cannot reach the rendezvous at 127.0.0.1:" + port));
  EXPECT_THAT(result.err, HasSubstr("= expected all 2 ranks meeting at 127.0.0.1:" + port + " within 1 s"));
}

// A user's own class with typed init arguments, registered as a program would.
struct TinyOptions {
  int64_t width = 3;
  double scale = 0.5;
  std::optional<std::string> tag = std::nullopt;
  std::vector<int64_t> sizes = {1, 2};
};
struct Tiny : pl::LightningModule {
  static inline TinyOptions last;
  explicit Tiny(TinyOptions options) { last = options; }
};
LIGHTNING_REGISTER_MODEL(Tiny, pl::cli::arg("width", &TinyOptions::width, "units"),
                         pl::cli::arg("scale", &TinyOptions::scale), pl::cli::arg("tag", &TinyOptions::tag),
                         pl::cli::arg("sizes", &TinyOptions::sizes));

TEST_F(Registry, UserClassGetsTypedInitArgumentsDefaultsAndErrors) {
  write("iris.yaml", iris_config());
  write("c.yaml", "model:\n  class_path: Tiny\n  init_args: {width: 7, tag: run1}\n");
  auto config = printed({"--config", "iris.yaml", "--config", "c.yaml"});
  EXPECT_EQ(config["model"]["init_args"]["width"].as<int64_t>(), 7);
  EXPECT_EQ(config["model"]["init_args"]["scale"].Scalar(), "0.5");
  EXPECT_EQ(config["model"]["init_args"]["sizes"].as<std::vector<int64_t>>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(config["model"]["init_args"]["in_features"].IsDefined(), false);  // MLPClassifier's arguments are gone

  // `check` builds it (and then finds that Tiny has no training_step).
  auto checked = cli({"check", "--config", "iris.yaml", "--config", "c.yaml", "--model.init_args.sizes=[4, 5, 6]"});
  EXPECT_EQ(Tiny::last.width, 7);
  EXPECT_EQ(Tiny::last.tag, "run1");
  EXPECT_EQ(Tiny::last.sizes, (std::vector<int64_t>{4, 5, 6}));
  EXPECT_THAT(checked.err, HasSubstr("training_step"));

  auto diagnostics = diagnostics_of({"check", "--config", "iris.yaml", "--config", "c.yaml", "--model.init_args.scale=big",
                                     "--model.init_args.widht=2"});
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_EQ(diagnostics[0].at("code"), "LC0704");
  EXPECT_EQ(diagnostics[0].at("expected"), "float");
  EXPECT_EQ(diagnostics[1].at("code"), "LC0703");
  EXPECT_EQ(diagnostics[1].at("help"), "did you mean \"width\"?");
}

// Every engine diagnostic about an option, raised from YAML, points at the line that set it.
struct OptionCase {
  std::string section;  // "trainer" or a class under trainer.callbacks / trainer.logger
  std::string key;
  std::string value;
  std::string code;
  /// Another init argument the class needs, written after the tested line.
  std::string extra = "";
  /// The key the diagnostic names when it is not `key` (LC0504 blames the missing monitor).
  std::string blamed_key = "";
};

class OptionDiagnosticFromYaml : public InTempDir, public ::testing::WithParamInterface<OptionCase> {};

TEST_P(OptionDiagnosticFromYaml, CarriesTheFileLocation) {
  const auto& c = GetParam();
  std::string text, where;
  int64_t line = 0, column = 0;
  if (c.section == "trainer") {
    text = "trainer:\n  " + c.key + ": " + c.value + "\n";
    if (!c.extra.empty()) text += "  " + c.extra + "\n";
    where = "trainer." + c.key;
    line = 2;
    column = 3 + static_cast<int64_t>(c.key.size()) + 2;
  } else {
    const bool logger = c.section.ends_with("Logger");
    text = std::string("trainer:\n  ") + (logger ? "logger" : "callbacks") + ":\n    - class_path: " + c.section +
           "\n      init_args:\n        " + c.key + ": " + c.value + "\n";
    if (!c.extra.empty()) text += "        " + c.extra + "\n";
    const auto prefix = std::string("trainer.") + (logger ? "logger" : "callbacks") + "[0].init_args.";
    where = prefix + c.key;
    line = 5;
    column = 9 + static_cast<int64_t>(c.key.size()) + 2;
    if (!c.blamed_key.empty()) {  // not written in the file: the diagnostic points at `init_args:`
      where = prefix + c.blamed_key;
      line = 4;
      column = 7;
    }
  }
  write("base.yaml", iris_config());
  write("case.yaml", text);
  auto diagnostics = diagnostics_of({"check", "--config", "base.yaml", "--config", "case.yaml"});
  const auto* d = find_code(diagnostics, c.code);
  ASSERT_NE(d, nullptr) << diagnostics.dump(2);
  EXPECT_EQ(d->at("where"), where);
  EXPECT_EQ(location_text(*d), fmt::format("case.yaml:{}:{}", line, column));
}

INSTANTIATE_TEST_SUITE_P(
    EveryOptionCheck, OptionDiagnosticFromYaml,
    ::testing::Values(OptionCase{"trainer", "max_epochs", "-2", "LC0101"},
                      OptionCase{"trainer", "accelerator", "my_cpu", "LC0102"},
                      OptionCase{"trainer", "precision", "16-mixd", "LC0103"},
                      OptionCase{"trainer", "strategy", "dpp", "LC0104"},
                      OptionCase{"trainer", "num_nodes", "0", "LC0125"},
                      OptionCase{"trainer", "strategy", "ddp_spawn", "LC0126"},
                      OptionCase{"trainer", "max_steps", "-5", "LC0106"},
                      OptionCase{"trainer", "min_epochs", "5", "LC0107"},
                      OptionCase{"trainer", "limit_val_batches", "-1", "LC0108"},
                      OptionCase{"trainer", "val_check_interval", "0.0", "LC0109"},
                      OptionCase{"trainer", "check_val_every_n_epoch", "0", "LC0110"},
                      OptionCase{"trainer", "num_sanity_val_steps", "-2", "LC0111"},
                      OptionCase{"trainer", "accumulate_grad_batches", "0", "LC0112"},
                      OptionCase{"trainer", "gradient_clip_val", "-1.0", "LC0113"},
                      OptionCase{"trainer", "gradient_clip_algorithm", "nrom", "LC0114"},
                      OptionCase{"trainer", "log_every_n_steps", "0", "LC0115"},
                      OptionCase{"trainer", "fast_dev_run", "-1", "LC0116"},
                      OptionCase{"trainer", "accelerator", "cuda", "LC0118"},
                      OptionCase{"trainer", "precision", "16-mixed", "LC0123"},
                      OptionCase{"trainer", "devices", "-3", "LC0119"},
                      OptionCase{"trainer", "default_root_dir", "file.txt/logs", "LC0120"},
                      OptionCase{"trainer", "max_time", "soon", "LC0122"},
                      OptionCase{"trainer", "val_check_interval", "1000", "LC0117"},
                      OptionCase{"trainer", "enable_checkpointing", "false", "LC0121",
                                 "callbacks: [{class_path: ModelCheckpoint}]"},
                      OptionCase{"trainer", "callbacks", "[ModelCheckpoint, ModelCheckpoint]", "LC0509"},
                      OptionCase{"trainer", "logger", "false", "LC0515", "callbacks: [LearningRateMonitor]"},
                      OptionCase{"ModelCheckpoint", "mode", "maximum", "LC0501"},
                      OptionCase{"ModelCheckpoint", "save_top_k", "-2", "LC0502"},
                      OptionCase{"ModelCheckpoint", "every_n_train_steps", "-1", "LC0503"},
                      OptionCase{"ModelCheckpoint", "save_top_k", "3", "LC0504", "", "monitor"},
                      OptionCase{"ModelCheckpoint", "every_n_train_steps", "5", "LC0505", "every_n_epochs: 1"},
                      OptionCase{"ModelCheckpoint", "filename", "\"{epoch\"", "LC0506"},
                      OptionCase{"ModelCheckpoint", "dirpath", "file.txt/ckpts", "LC0507"},
                      OptionCase{"ModelCheckpoint", "monitor", "val_accuracy", "LC0508"},
                      OptionCase{"EarlyStopping", "mode", "maximum", "LC0511", "monitor: val_loss"},
                      OptionCase{"EarlyStopping", "monitor", "\"\"", "LC0512"},
                      OptionCase{"EarlyStopping", "patience", "-1", "LC0513", "monitor: val_loss"},
                      OptionCase{"EarlyStopping", "monitor", "val_los", "LC0514"},
                      OptionCase{"LearningRateMonitor", "logging_interval", "batch", "LC0516"},
                      OptionCase{"Timer", "interval", "minute", "LC0517"},
                      OptionCase{"OnExceptionCheckpoint", "dirpath", "file.txt/x", "LC0518"},
                      OptionCase{"CSVLogger", "flush_logs_every_n_steps", "0", "LC0602"},
                      OptionCase{"CSVLogger", "save_dir", "file.txt/logs", "LC0601"},
                      OptionCase{"TensorBoardLogger", "save_dir", "file.txt/logs", "LC0603"}),
    [](const ::testing::TestParamInfo<OptionCase>& info) {
      return fmt::format("{}_{}", info.param.code, info.index);
    });
