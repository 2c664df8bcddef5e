// TensorBoardLogger's event file, read back by an independent reader (Python's protobuf and
// crc32c) record by record.

#include "support/support.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace lightning {
namespace {

using ::testing::HasSubstr;

TEST(TensorBoardLogger, WritesRecordsWithValidChecksumsAndEveryValue) {
  testing::TempDir dir;
  testing::CountingModule model;
  model.save_hyperparameters({{"lr", 0.1}, {"name", std::string("boring")}, {"layers", int64_t{2}}, {"dropout", false}});
  auto tensorboard = std::make_shared<TensorBoardLogger>(TensorBoardLoggerOptions{.save_dir = dir.path().string()});
  Trainer trainer({.max_epochs = 2, .logger = tensorboard, .log_every_n_steps = 2, .enable_progress_bar = false,
                   .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(16, 4), testing::random_loader(8, 4));
  ASSERT_THAT(tensorboard->event_file(), HasSubstr(dir / "lightning_logs/version_0/events.out.tfevents."));

  const std::string output = testing::run_command(fmt::format("PYTHONPATH={} {} {}/read_events.py {}", LIGHTNING_PROTO_PY_DIR,
                                                              LIGHTNING_PYTHON, LIGHTNING_TEST_SOURCE_DIR "/loggers",
                                                              tensorboard->event_file()));
  EXPECT_EQ(output,
            "file_version brain.Event:2\n"
            "hparams _hparams_/experiment\n"
            "hparams dropout=bool_value:False layers=number_value:2.0 lr=number_value:0.1 name=string_value:boring\n"
            "hparams _hparams_/session_end_info\n"
            "scalar 0 hp_metric -1\n"
            "scalar 1 a 1\n"
            "scalar 1 epoch 0\n"
            "scalar 3 a 3\n"
            "scalar 3 epoch 0\n"
            "scalar 3 epoch 0\n"
            "scalar 3 val_x 0\n"
            "scalar 5 a 5\n"
            "scalar 5 epoch 1\n"
            "scalar 7 a 7\n"
            "scalar 7 epoch 1\n"
            "scalar 7 epoch 1\n"
            "scalar 7 val_x 10\n"
            "records 11\n");
  std::ifstream yaml(dir / "lightning_logs/version_0/hparams.yaml");
  std::string first_line;
  std::getline(yaml, first_line);
  EXPECT_EQ(first_line, "dropout: false");
}

TEST(TensorBoardLogger, AnUnusableSaveDirIsLC0603) {
  testing::TempDir dir;
  std::ofstream(dir / "file") << "x";
  try {
    TensorBoardLogger logger({.save_dir = dir / "file"});
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0603"));
    EXPECT_THAT(e.what(), HasSubstr("TensorBoardLogger cannot write to `save_dir`"));
  }
}

}  // namespace
}  // namespace lightning
