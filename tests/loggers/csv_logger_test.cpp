// CSVLogger writes Lightning's layout, value by value.

#include "support/support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lightning {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string fit_and_read(const TempDir& dir, int64_t flush_every) {
  testing::CountingModule model;
  model.save_hyperparameters({{"lr", 0.1}, {"name", std::string("boring")}, {"layers", int64_t{2}}, {"dropout", false}});
  auto csv = std::make_shared<CSVLogger>(CSVLoggerOptions{.save_dir = dir / "logs", .flush_logs_every_n_steps = flush_every});
  Trainer trainer({.max_epochs = 2, .logger = csv, .log_every_n_steps = 2, .enable_progress_bar = false,
                   .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(16, 4), testing::random_loader(8, 4));
  EXPECT_EQ(csv->log_dir(), dir / "logs/lightning_logs/version_0");
  return read_file(csv->log_dir() + "/metrics.csv");
}

constexpr const char* kExpectedMetrics =
    "a,epoch,step,val_x\n"
    "1.0,0,1,\n"
    "3.0,0,3,\n"
    ",0,3,0.0\n"
    "5.0,1,5,\n"
    "7.0,1,7,\n"
    ",1,7,10.0\n";

TEST(CSVLogger, WritesOneRowPerLoggingStepWithSortedColumns) {
  TempDir dir;
  EXPECT_EQ(fit_and_read(dir, 100), kExpectedMetrics);
  EXPECT_EQ(read_file(dir / "logs/lightning_logs/version_0/hparams.yaml"),
            "dropout: false\nlayers: 2\nlr: 0.1\nname: boring\n");
}

TEST(CSVLogger, ANewColumnRewritesTheFileUnderTheNewHeader) {
  TempDir dir;
  EXPECT_EQ(fit_and_read(dir, 2), kExpectedMetrics) << "flushed at steps 1, 3, 5 and 7, before val_x appeared";
}

TEST(CSVLogger, VersionsCountUpAndCanBeNamed) {
  TempDir dir;
  CSVLogger first({.save_dir = dir.path().string()});
  first.log_metrics({{"x", 1.0}}, 0);
  first.save();
  EXPECT_EQ(first.version(), "version_0");
  EXPECT_EQ(CSVLogger({.save_dir = dir.path().string()}).version(), "version_1");
  EXPECT_EQ(CSVLogger({.save_dir = dir.path().string(), .version = 7}).log_dir(), dir / "lightning_logs/version_7");
  EXPECT_EQ(CSVLogger({.save_dir = dir.path().string(), .name = "exp", .version = "baseline"}).log_dir(),
            dir / "exp/baseline");
  EXPECT_EQ(read_file(dir / "lightning_logs/version_0/hparams.yaml"), "{}\n");
}

TEST(CSVLogger, PrefixesMetricsAndWritesPythonsNumbers) {
  TempDir dir;
  {
    CSVLogger logger({.save_dir = dir.path().string(), .prefix = "fold1"});
    logger.log_metrics({{"loss", 1e-05}, {"acc", 2.0}}, 0);
    logger.finalize("success");
  }
  EXPECT_EQ(read_file(dir / "lightning_logs/version_0/metrics.csv"), "fold1-acc,fold1-loss,step\n2.0,1e-05,0\n");
}

TEST(CSVLogger, AnUnusableSaveDirIsLC0601AndAZeroFlushIntervalLC0602) {
  TempDir dir;
  std::ofstream(dir / "file") << "x";
  try {
    CSVLogger logger({.save_dir = dir / "file", .flush_logs_every_n_steps = 0});
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0601"));
    EXPECT_TRUE(e.has("LC0602"));
    EXPECT_THAT(e.what(), HasSubstr("CSVLogger cannot write to `save_dir`: it is a file, not a folder"));
  }
}

TEST(CSVLogger, IsADefaultLoggerWithTensorBoardInOneFolderUnderDefaultRootDir) {
  TempDir dir;
  Trainer trainer({.default_root_dir = dir / "root"});
  ASSERT_EQ(trainer.loggers().size(), 2u);
  EXPECT_NE(dynamic_cast<TensorBoardLogger*>(trainer.loggers()[0].get()), nullptr);
  EXPECT_NE(dynamic_cast<CSVLogger*>(trainer.loggers()[1].get()), nullptr);
  EXPECT_EQ(trainer.loggers()[0]->log_dir(), dir / "root/lightning_logs/version_0");
  EXPECT_EQ(trainer.loggers()[1]->log_dir(), dir / "root/lightning_logs/version_0");
  EXPECT_EQ(trainer.view().log_dir(), dir / "root/lightning_logs/version_0");
  EXPECT_TRUE(Trainer({.logger = false}).loggers().empty());
  EXPECT_TRUE(Trainer({.fast_dev_run = 1}).loggers().empty());
}

}  // namespace
}  // namespace lightning
