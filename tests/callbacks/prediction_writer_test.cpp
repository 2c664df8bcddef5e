// BasePredictionWriter's intervals, and PredictionWriter's files as Python's torch.load reads them.

#include "support/support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace lightning {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

/// Records what reaches each write hook.
struct RecordingWriter : BasePredictionWriter {
  using BasePredictionWriter::BasePredictionWriter;
  std::vector<std::string> calls;
  void write_on_batch_end(const TrainerView&, LightningModule&, const Batch& prediction,
                          const std::vector<int64_t>& batch_indices, const Batch& batch, int64_t batch_idx,
                          int64_t dataloader_idx) override {
    std::string samples;
    for (int64_t index : batch_indices) samples += fmt::format(" {}", index);
    calls.push_back(fmt::format("batch {} of loader {}: {} rows from {}, samples{}", batch_idx, dataloader_idx,
                                prediction.tensor().size(0), batch[0].tensor().size(0), samples));
  }
  void write_on_epoch_end(const TrainerView&, LightningModule&, const std::vector<std::vector<Batch>>& predictions,
                          const std::vector<std::vector<std::vector<int64_t>>>& batch_indices) override {
    std::string sizes;
    for (std::size_t k = 0; k < predictions.size(); ++k) {
      sizes += fmt::format(" {} ({} with indices)", predictions[k].size(), batch_indices[k].size());
    }
    calls.push_back("epoch: batches per loader" + sizes);
  }
};

std::vector<std::string> calls_for(const std::string& interval) {
  testing::BoringModel model;
  auto writer = std::make_shared<RecordingWriter>(interval);
  Trainer trainer({.callbacks = {writer}, .logger = false, .enable_progress_bar = false, .enable_model_summary = false});
  seed_everything(3);  // the second loader's shuffled order
  trainer.predict(model, std::vector<DataLoader>{testing::random_loader(10, 4), testing::random_loader(4, 4, /*shuffle=*/true)});
  return writer->calls;
}

TEST(BasePredictionWriter, WritesEachBatchTheWholeRunOrBothWithTheSamplesDatasetIndices) {
  const auto batches = calls_for("batch");
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_THAT(std::vector<std::string>(batches.begin(), batches.begin() + 3),
              ElementsAre("batch 0 of loader 0: 4 rows from 4, samples 0 1 2 3", "batch 1 of loader 0: 4 rows from 4, samples 4 5 6 7",
                          "batch 2 of loader 0: 2 rows from 2, samples 8 9"));
  // A shuffled loader: the sampler's order, a permutation of the four samples.
  EXPECT_THAT(batches[3], ::testing::StartsWith("batch 0 of loader 1: 4 rows from 4, samples "));
  EXPECT_NE(batches[3], "batch 0 of loader 1: 4 rows from 4, samples 0 1 2 3");
  for (const char* sample : {" 0", " 1", " 2", " 3"}) EXPECT_THAT(batches[3].substr(batches[3].find("samples") + 7), HasSubstr(sample));
  EXPECT_THAT(calls_for("epoch"), ElementsAre("epoch: batches per loader 3 (3 with indices) 1 (1 with indices)"));
  EXPECT_EQ(calls_for("batch_and_epoch").size(), 5u);
  EXPECT_EQ(calls_for("batch_and_epoch").back(), "epoch: batches per loader 3 (3 with indices) 1 (1 with indices)");
}

TEST(BasePredictionWriter, AnUnknownIntervalIsLC0519) {
  try {
    RecordingWriter writer("epochs");
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0519"));
    EXPECT_THAT(e.what(), HasSubstr("prediction writer option `write_interval` has an unknown value \"epochs\""));
    EXPECT_THAT(e.what(), HasSubstr("did you mean \"epoch\"?"));
  }
}

TEST(PredictionWriter, WritesWhatPredictReturnsForPythonToRead) {
  TempDir dir;
  testing::BoringModel model;
  auto epoch = std::make_shared<PredictionWriter>(PredictionWriterOptions{.output_dir = dir / "epoch"});
  auto batches = std::make_shared<PredictionWriter>(PredictionWriterOptions{.output_dir = dir / "batches", .write_interval = "batch"});
  Trainer trainer({.callbacks = {epoch, batches}, .logger = false, .enable_progress_bar = false, .enable_model_summary = false});
  const std::vector<Batch> predictions = trainer.predict(model, testing::random_loader(10, 4));
  ASSERT_EQ(predictions.size(), 3u);
  EXPECT_THAT(epoch->written(), ElementsAre(dir / "epoch/predictions.pt", dir / "epoch/batch_indices.pt"));
  EXPECT_THAT(testing::files_in(dir.path() / "batches"),
              ElementsAre("predictions_dataloader0_batch0.pt", "predictions_dataloader0_batch1.pt",
                          "predictions_dataloader0_batch2.pt"));
  const std::string script =
      "import sys, torch; p = torch.load(sys.argv[1], weights_only=True); b = torch.load(sys.argv[2], weights_only=True); "
      "print(type(p).__name__, len(p), [list(t.shape) for t in p]); print('%.6f' % p[2][1, 0].item()); "
      "print(torch.equal(b, p[2])); print(torch.load(sys.argv[3], weights_only=True))";
  const std::string output = testing::run_python(
      script, {dir / "epoch/predictions.pt", dir / "batches/predictions_dataloader0_batch2.pt", dir / "epoch/batch_indices.pt"});
  EXPECT_EQ(output, fmt::format("list 3 [[4, 2], [4, 2], [2, 2]]\n{:.6f}\nTrue\n[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]\n",
                                predictions[2].tensor()[1][0].item<double>()));
}

TEST(PredictionWriter, WithoutAFolderOrOneItCannotWriteToIsLC0520BeforeTheFirstBatch) {
  try {
    PredictionWriter writer({.output_dir = ""});
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0520"));
    EXPECT_THAT(e.what(), HasSubstr("PredictionWriter has no `output_dir`"));
  }
  TempDir dir;
  std::ofstream(dir / "taken") << "a file where the folder should be";
  testing::BoringModel model;
  auto writer = std::make_shared<PredictionWriter>(PredictionWriterOptions{.output_dir = dir / "taken"});
  auto recorder = std::make_shared<RecordingWriter>("batch");
  Trainer trainer({.callbacks = {writer, recorder}, .logger = false, .enable_progress_bar = false, .enable_model_summary = false});
  try {
    trainer.predict(model, testing::random_loader(10, 4));
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0520"));
    EXPECT_THAT(e.what(), HasSubstr(fmt::format("PredictionWriter cannot write to \"{}\"", dir / "taken")));
  }
  EXPECT_TRUE(recorder->calls.empty());
}

}  // namespace
}  // namespace lightning
