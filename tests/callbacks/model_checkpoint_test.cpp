// ModelCheckpoint: which files it keeps, how it names them, and what it rejects up front.

#include "support/support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace lightning {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ScriptedMetricModel;
using testing::TempDir;
using Files = std::vector<std::string>;

/// Fits `model` for `epochs` epochs of 2 steps, validating each, with `checkpoint`.
void fit_epochs(ScriptedMetricModel& model, std::shared_ptr<ModelCheckpoint> checkpoint, int64_t epochs) {
  Trainer trainer({.max_epochs = epochs, .callbacks = {std::move(checkpoint)}, .logger = false});
  trainer.fit(model, testing::random_loader(8, 4), testing::random_loader(8, 4));
}

MisconfigurationException construction_error(ModelCheckpointOptions options) {
  try {
    ModelCheckpoint checkpoint(std::move(options));
  } catch (const MisconfigurationException& e) {
    return e;
  }
  throw std::runtime_error("ModelCheckpoint accepted invalid options");
}

TEST(ModelCheckpoint, TopKKeepsExactlyTheKBestFilesAndDeletesTheRest) {
  TempDir dir;
  ScriptedMetricModel model({5.0, 3.0, 4.0, 1.0, 2.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.dirpath = dir / "ckpts", .filename = "{epoch}-{val_loss:.1f}", .monitor = "val_loss", .save_top_k = 2});
  fit_epochs(model, checkpoint, 5);
  EXPECT_EQ(testing::files_in(dir / "ckpts"), (Files{"epoch=3-val_loss=1.0.ckpt", "epoch=4-val_loss=2.0.ckpt"}));
  EXPECT_EQ(checkpoint->best_model_path(), dir / "ckpts/epoch=3-val_loss=1.0.ckpt");
  EXPECT_EQ(checkpoint->best_model_score(), 1.0);
  EXPECT_EQ(checkpoint->best_k_models(), (std::map<std::string, double>{{dir / "ckpts/epoch=3-val_loss=1.0.ckpt", 1.0},
                                                                          {dir / "ckpts/epoch=4-val_loss=2.0.ckpt", 2.0}}));
}

TEST(ModelCheckpoint, ModeMaxKeepsTheHighest) {
  TempDir dir;
  ScriptedMetricModel model({5.0, 3.0, 4.0, 1.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.dirpath = dir.path().string(), .filename = "{epoch}", .monitor = "val_loss", .mode = "max"});
  fit_epochs(model, checkpoint, 4);
  EXPECT_EQ(testing::files_in(dir.path()), (Files{"epoch=0.ckpt"}));
  EXPECT_EQ(checkpoint->best_model_score(), 5.0);
}

TEST(ModelCheckpoint, SaveLastKeepsLastCkptCurrent) {
  TempDir dir;
  ScriptedMetricModel model({1.0, 2.0, 3.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.dirpath = dir.path().string(), .monitor = "val_loss", .save_last = true});
  fit_epochs(model, checkpoint, 3);
  EXPECT_EQ(testing::files_in(dir.path()), (Files{"epoch=0-step=2.ckpt", "last.ckpt"}));
  EXPECT_EQ(checkpoint->last_model_path(), dir / "last.ckpt");
  const Checkpoint last = load_checkpoint_file(dir / "last.ckpt");
  EXPECT_EQ(last.at("epoch").toInt(), 2);
  EXPECT_EQ(last.at("global_step").toInt(), 6);
}

TEST(ModelCheckpoint, EveryNTrainStepsSavesAtThoseSteps) {
  TempDir dir;
  ScriptedMetricModel model({1.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.dirpath = dir.path().string(), .filename = "{step}", .save_top_k = -1, .every_n_train_steps = 3});
  fit_epochs(model, checkpoint, 5);  // 10 steps
  EXPECT_EQ(testing::files_in(dir.path()), (Files{"step=3.ckpt", "step=6.ckpt", "step=9.ckpt"}));
}

TEST(ModelCheckpoint, WithoutMonitorKeepsTheLatestOnly) {
  TempDir dir;
  ScriptedMetricModel model({1.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir.path().string()});
  fit_epochs(model, checkpoint, 3);
  EXPECT_EQ(testing::files_in(dir.path()), (Files{"epoch=2-step=6.ckpt"}));
}

TEST(ModelCheckpoint, FilenameTemplatesRenderAsLightningDoes) {
  const std::map<std::string, double> metrics{{"epoch", 3}, {"step", 120}, {"val_loss", 0.27314}};
  EXPECT_EQ(ModelCheckpoint({.filename = "{epoch}-{val_loss:.2f}"}).format_checkpoint_name(metrics),
            "epoch=3-val_loss=0.27.ckpt");
  EXPECT_EQ(ModelCheckpoint({.filename = "{epoch}-{val_loss:.2f}", .auto_insert_metric_name = false})
                .format_checkpoint_name(metrics),
            "3-0.27.ckpt");
  EXPECT_EQ(ModelCheckpoint({.filename = "model-{epoch:03d}-{step}"}).format_checkpoint_name(metrics),
            "model-epoch=003-step=120.ckpt");
  EXPECT_EQ(ModelCheckpoint({.filename = "{epoch:.1f}-{val_acc}"}).format_checkpoint_name(metrics),
            "epoch=3.0-val_acc=0.ckpt")
      << "a float spec on a counter, and an absent metric rendered as 0";
  EXPECT_EQ(ModelCheckpoint().format_checkpoint_name(metrics), "epoch=3-step=120.ckpt");
}

TEST(ModelCheckpoint, AnExistingNameGetsAVersionSuffix) {
  TempDir dir;
  std::ofstream(dir / "epoch=0-step=2.ckpt") << "from an earlier run";
  ScriptedMetricModel model({1.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir.path().string()});
  fit_epochs(model, checkpoint, 1);
  EXPECT_EQ(testing::files_in(dir.path()), (Files{"epoch=0-step=2-v1.ckpt", "epoch=0-step=2.ckpt"}));
}

TEST(ModelCheckpoint, DefaultFolderIsCheckpointsUnderTheRootWithoutLoggers) {
  TempDir dir;
  Trainer trainer({.max_epochs = 1, .logger = false, .default_root_dir = dir / "root"});
  EXPECT_EQ(ModelCheckpoint().resolve_dirpath(trainer.view()), dir / "root/checkpoints");
}

TEST(ModelCheckpoint, InvalidOptionsAreReportedTogetherWithTheirCodes) {
  const auto e = construction_error({.filename = "{epoch", .save_top_k = -2, .mode = "minimum", .every_n_train_steps = -1});
  EXPECT_TRUE(e.has("LC0501"));
  EXPECT_TRUE(e.has("LC0502"));
  EXPECT_TRUE(e.has("LC0503"));
  EXPECT_TRUE(e.has("LC0506"));
  EXPECT_THAT(e.what(), HasSubstr("ModelCheckpoint option `mode` has an unknown value \"minimum\""));
  EXPECT_THAT(e.what(), HasSubstr("did you mean \"min\"?"));
  EXPECT_THAT(e.what(), HasSubstr("`filename` is not a valid template: unbalanced braces"));
  EXPECT_TRUE(construction_error({.filename = "{val_loss:.2q}"}).has("LC0506"));
}

TEST(ModelCheckpoint, TopKWithoutMonitorIsLC0504AndTwoTriggersLC0505) {
  EXPECT_THAT(construction_error({.save_top_k = 3}).what(),
              HasSubstr("error[LC0504]: ModelCheckpoint keeps the top 3 checkpoints but has no `monitor` to rank them by"));
  EXPECT_TRUE(construction_error({.every_n_train_steps = 5, .every_n_epochs = 1}).has("LC0505"));
}

TEST(ModelCheckpoint, AMonitorTheModuleNeverLogsIsLC0508BeforeTheFirstStep) {
  TempDir dir;
  ScriptedMetricModel model({1.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir.path().string(), .monitor = "val_los"});
  Trainer trainer({.max_epochs = 5, .callbacks = {checkpoint}, .logger = false});
  try {
    trainer.fit(model, testing::random_loader(8, 4), testing::random_loader(8, 4));
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0508"));
    EXPECT_THAT(e.what(), HasSubstr("ModelCheckpoint monitors \"val_los\", which the module does not log"));
    EXPECT_THAT(e.what(), HasSubstr("did you mean \"val_loss\"?"));
  }
  EXPECT_EQ(model.training_steps, 0);
  EXPECT_EQ(trainer.global_step(), 0);
}

TEST(ModelCheckpoint, AFolderThatIsAFileIsLC0507) {
  TempDir dir;
  std::ofstream(dir / "taken") << "a file";
  ScriptedMetricModel model({1.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir / "taken"});
  Trainer trainer({.max_epochs = 1, .callbacks = {checkpoint}, .logger = false});
  try {
    trainer.fit(model, testing::random_loader(8, 4));
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0507"));
    EXPECT_THAT(e.what(), HasSubstr("taken\": it is a file, not a folder"));
  }
}

TEST(ModelCheckpoint, ItsStateSurvivesASaveAndALoad) {
  TempDir dir;
  ScriptedMetricModel model({5.0, 3.0, 4.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.dirpath = dir.path().string(), .monitor = "val_loss", .save_top_k = 2});
  fit_epochs(model, checkpoint, 3);
  const Checkpoint saved = load_checkpoint_file(checkpoint->best_model_path());
  ModelCheckpoint restored({.dirpath = dir.path().string(), .monitor = "val_loss", .save_top_k = 2});
  Trainer trainer({.logger = false});
  restored.setup(trainer.view(), model, "fit");
  restored.load_state_dict(saved.at("callbacks").toGenericDict().at(checkpoint->state_key()));
  EXPECT_EQ(restored.best_model_score(), 3.0) << "saved when epoch 1 (3.0) was the best";
  EXPECT_EQ(restored.best_model_path(), checkpoint->best_model_path());
  EXPECT_EQ(restored.best_k_models().size(), 2u);
}

/// The ModelCheckpoint state a checkpoint file holds.
c10::Dict<c10::IValue, c10::IValue> checkpoint_state(const std::filesystem::path& file, const ModelCheckpoint& callback) {
  return load_checkpoint_file(file).at("callbacks").toGenericDict().at(callback.state_key()).toGenericDict();
}

TEST(ModelCheckpoint, OneSaveWritesLastCkptAndGivesTheTopKFileTheSameContent) {
  TempDir dir;
  ScriptedMetricModel model({3.0, 2.0, 1.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.dirpath = dir.path().string(), .monitor = "val_loss", .save_last = true});
  fit_epochs(model, checkpoint, 3);
  EXPECT_EQ(testing::files_in(dir.path()), (Files{"epoch=2-step=6.ckpt", "last.ckpt"}));
  EXPECT_TRUE(std::filesystem::equivalent(dir / "last.ckpt", dir / "epoch=2-step=6.ckpt")) << "one file, two names";
  const auto state = checkpoint_state(dir / "last.ckpt", *checkpoint);
  EXPECT_EQ(state.at("saved_with_last").toStringRef(), dir / "epoch=2-step=6.ckpt");
  EXPECT_EQ(state.at("replaced_by_save").toListRef().size(), 2u) << "epoch 1's file and the previous last.ckpt";
  EXPECT_EQ(state.at("best_model_path").toStringRef(), dir / "epoch=2-step=6.ckpt");
}

TEST(ModelCheckpoint, AResumeFinishesTheSaveAKillInterruptedBetweenItsFiles) {
  TempDir dir;
  const auto options = ModelCheckpointOptions{.dirpath = dir.path().string(), .monitor = "val_loss", .save_last = true};
  {
    ScriptedMetricModel model({3.0, 2.0});
    fit_epochs(model, std::make_shared<ModelCheckpoint>(options), 2);
  }
  // What a kill right after epoch 1's last.ckpt leaves: not yet its top-k file, and epoch 0's
  // file not yet removed.
  std::filesystem::remove(dir / "epoch=1-step=4.ckpt");
  std::filesystem::copy_file(dir / "last.ckpt", dir / "epoch=0-step=2.ckpt");

  ScriptedMetricModel model({3.0, 2.0, 5.0});  // epoch 2 does not rank: epoch 1's file stays the best
  auto checkpoint = std::make_shared<ModelCheckpoint>(options);
  Trainer trainer({.max_epochs = 3, .callbacks = {checkpoint}, .logger = false});
  ::testing::internal::CaptureStderr();
  trainer.fit(model, testing::random_loader(8, 4), testing::random_loader(8, 4), dir / "last.ckpt");
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(testing::files_in(dir.path()), (Files{"epoch=1-step=4.ckpt", "last.ckpt"}));
  EXPECT_EQ(checkpoint->best_model_path(), dir / "epoch=1-step=4.ckpt");
  EXPECT_EQ(load_checkpoint_file(dir / "epoch=1-step=4.ckpt").at("global_step").toInt(), 4);
  EXPECT_EQ(load_checkpoint_file(dir / "last.ckpt").at("global_step").toInt(), 6);
  EXPECT_THAT(printed, HasSubstr("ModelCheckpoint: finished the save that wrote \"" + dir / "last.ckpt" +
                                 "\", which the end of its run interrupted: wrote \"" +
                                 dir / "epoch=1-step=4.ckpt" + "\", removed \"" +
                                 dir / "epoch=0-step=2.ckpt" + "\""));
}

TEST(ModelCheckpoint, AResumeFromAnEarlierSavesCopyRestoresItsBestFileAndRemovesNothingLater) {
  TempDir dir;
  const auto options = ModelCheckpointOptions{.dirpath = dir / "ckpts", .monitor = "val_loss", .save_last = true};
  auto fit_until = [&](int64_t epochs, const std::string& ckpt_path) {
    ScriptedMetricModel model({3.0, 2.0, 1.0});
    Trainer trainer({.max_epochs = epochs, .callbacks = {std::make_shared<ModelCheckpoint>(options)}, .logger = false});
    trainer.fit(model, testing::random_loader(8, 4), testing::random_loader(8, 4), ckpt_path);
  };
  ::testing::internal::CaptureStderr();
  fit_until(2, "");
  std::filesystem::copy_file(dir / "ckpts/last.ckpt", dir / "after_epoch_1.ckpt");
  fit_until(3, dir / "ckpts/last.ckpt");
  ASSERT_EQ(testing::files_in(dir / "ckpts"), (Files{"epoch=2-step=6.ckpt", "last.ckpt"}));
  fit_until(2, dir / "after_epoch_1.ckpt");  // at its end already: nothing trains
  const std::string printed = ::testing::internal::GetCapturedStderr();
  // The copy's ranking names epoch 1's file as the best, so it is there again; epoch 2's stays.
  EXPECT_EQ(testing::files_in(dir / "ckpts"), (Files{"epoch=1-step=4.ckpt", "epoch=2-step=6.ckpt", "last.ckpt"}));
  EXPECT_EQ(load_checkpoint_file(dir / "ckpts/epoch=1-step=4.ckpt").at("global_step").toInt(), 4);
  EXPECT_EQ(load_checkpoint_file(dir / "ckpts/last.ckpt").at("global_step").toInt(), 6);
  EXPECT_THAT(printed, HasSubstr("wrote \"" + dir / "ckpts/epoch=1-step=4.ckpt" + "\""));
}

}  // namespace
}  // namespace lightning
