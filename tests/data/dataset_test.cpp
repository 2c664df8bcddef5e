#include <lightning/data/dataset.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace lightning {
namespace {

TEST(Collate, StacksTensorsAndRecursesIntoTuplesAndMaps) {
  std::vector<Batch> samples;
  for (int i = 0; i < 3; ++i) {
    samples.push_back(Batch{Batch(at::full({2}, i)),
                            Batch(Batch::Dict{{"label", Batch(at::scalar_tensor(i * 10))}})});
  }
  Batch batch = collate(samples);
  EXPECT_EQ(batch[0].tensor().sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(batch[1]["label"].tensor().equal(at::tensor({0.0f, 10.0f, 20.0f})));
}

TEST(Collate, NamesWhereSamplesDisagree) {
  std::vector<Batch> samples{Batch{Batch(at::zeros({2})), Batch(at::zeros({3}))},
                             Batch{Batch(at::zeros({2})), Batch(at::zeros({4}))}};
  try {
    collate(samples);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "collate: samples disagree at [1]: shapes [3] and [4] cannot be stacked");
  }
}

TEST(TensorDataset, GatherMatchesStackingSamples) {
  TensorDataset dataset(at::arange(20, at::kFloat).reshape({10, 2}), at::arange(10, at::kLong));
  const std::vector<int64_t> indices{7, 2, 9};
  Batch fast = dataset.get_batch(indices);
  Batch slow = dataset.Dataset::get_batch(indices);
  EXPECT_TRUE(fast[0].tensor().equal(slow[0].tensor()));
  EXPECT_TRUE(fast[1].tensor().equal(slow[1].tensor()));
  const std::vector<int64_t> run{3, 4, 5};
  EXPECT_TRUE(dataset.get_batch(run)[1].tensor().equal(at::tensor({3, 4, 5}, at::kLong)));
}

TEST(TensorDataset, RejectsTensorsOfDifferentLengths) {
  EXPECT_THROW(TensorDataset(at::zeros({3, 2}), at::zeros({4})), std::invalid_argument);
}

TEST(CSVDataset, ReadsTheGzippedDigitsDirectly) {
  CSVDataset digits(LIGHTNING_TEST_DATA_DIR "/digits.csv.gz");
  EXPECT_EQ(digits.size(), 1797);
  EXPECT_EQ(digits.features().sizes(), (std::vector<int64_t>{1797, 64}));
  EXPECT_EQ(digits.targets().scalar_type(), at::kLong);
  EXPECT_EQ(digits.targets().min().item<int64_t>(), 0);
  EXPECT_EQ(digits.targets().max().item<int64_t>(), 9);
  // The first row of the file: 0,0,5,13,9,1,0,0,... and class 0.
  EXPECT_EQ(digits.features()[0][2].item<float>(), 5.0f);
  EXPECT_EQ(digits.features()[0][3].item<float>(), 13.0f);
  EXPECT_EQ(digits.targets()[0].item<int64_t>(), 0);
}

TEST(CSVDataset, SkipsAHeaderAndTakesAnyTargetColumn) {
  CSVDataset iris(LIGHTNING_TEST_DATA_DIR "/iris.csv", {.target_column = 4, .skip_rows = 1});
  EXPECT_EQ(iris.size(), 150);
  EXPECT_EQ(iris.features().size(1), 4);
  EXPECT_EQ(iris.targets().max().item<int64_t>(), 2);
}

TEST(CSVDataset, NamesThePathLineAndColumnOfBadData) {
  const auto path = std::filesystem::temp_directory_path() / "lightning_bad.csv";
  std::ofstream(path) << "1,2,0\n3,x,1\n";
  try {
    CSVDataset bad(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "CSVDataset: \"" + path.string() +
                                         "\" line 2 column 2: \"x\" is not a number (skip a header "
                                         "with {.skip_rows = 1})");
  }
  std::filesystem::remove(path);
  try {
    CSVDataset missing("/nonexistent/data.csv");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open \"/nonexistent/data.csv\""), std::string::npos);
  }
}

}  // namespace
}  // namespace lightning
