#include <lightning/data/dataset.h>
#include <lightning/diagnostics/diagnostic.h>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
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
  try {
    TensorDataset(at::zeros({3, 2}), at::zeros({4}), at::zeros({}));
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u) << "every tensor is checked";
    EXPECT_EQ(e.diagnostics()[0].code, "LC0207");
    EXPECT_EQ(e.diagnostics()[0].message, "TensorDataset: tensor 1 has 4 rows but tensor 0 has 3");
    EXPECT_EQ(e.diagnostics()[0].where(), "TensorDataset (tensor 1)");
    EXPECT_EQ(e.diagnostics()[0].received, "a tensor of shape [4]");
    EXPECT_EQ(e.diagnostics()[1].code, "LC0207");
    EXPECT_EQ(e.diagnostics()[1].message, "TensorDataset: tensor 2 has no first dimension to index samples by");
    EXPECT_NE(std::string(e.what()).find("2 errors found while building TensorDataset"), std::string::npos);
  }
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

/// The diagnostic of reading `text` as a CSV file with `options`.
Diagnostic csv_error(const std::string& text, CSVDatasetOptions options = {}) {
  const auto path = std::filesystem::temp_directory_path() / "lightning_bad.csv";
  std::ofstream(path) << text;
  try {
    CSVDataset bad(path, options);
  } catch (const MisconfigurationException& e) {
    std::filesystem::remove(path);
    return e.diagnostics().at(0);
  }
  std::filesystem::remove(path);
  throw std::runtime_error("CSVDataset accepted: " + text);
}

TEST(CSVDataset, NamesThePathLineAndColumnOfBadData) {
  const auto not_a_number = csv_error("1,2,0\n3,x,1\n");
  EXPECT_EQ(not_a_number.code, "LC0205");
  EXPECT_THAT(not_a_number.message, ::testing::EndsWith("lightning_bad.csv\" line 2 column 2: \"x\" is not a number"));
  ASSERT_TRUE(not_a_number.location.has_value());
  EXPECT_EQ(not_a_number.location->line, 2);
  EXPECT_EQ(not_a_number.location->column, 2);
  EXPECT_EQ(csv_error("a,b,c\n1,2,0\n").help, "skip a header line with skip_rows = 1");
  const auto ragged = csv_error("1,2,0\n3,1\n");
  EXPECT_EQ(ragged.code, "LC0205");
  EXPECT_THAT(ragged.message, ::testing::EndsWith("line 2 column 1: the line has 2 columns, earlier lines have 3"));
  try {
    CSVDataset missing("/nonexistent/data.csv");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open \"/nonexistent/data.csv\""), std::string::npos);
  }
}

// Each of these once trained on wrong data without a word: a nan or 1e20 class target became
// -9223372036854775808, 1.5 became 1, an inf feature trained to a nan loss.
TEST(CSVDataset, ATargetThatIsNoClassAndAFeatureThatIsNotFiniteAreLC0205AtTheirLineAndColumn) {
  for (const char* target : {"nan", "1e20", "1.5", "-inf"}) {
    const auto d = csv_error(fmt::format("1,2,0\n3,4,{}\n", target));
    EXPECT_EQ(d.code, "LC0205") << target;
    EXPECT_THAT(d.message, ::testing::HasSubstr("line 2 column 3: the class target")) << target;
    EXPECT_THAT(d.message, ::testing::EndsWith("is not a whole number")) << target;
  }
  EXPECT_EQ(csv_error("1,2,0\n3,4,1.5\n").received, "1.5");
  for (const char* feature : {"inf", "nan", "1e39", "1e400"}) {
    const auto d = csv_error(fmt::format("1,2,0\n{},4,1\n", feature));
    EXPECT_EQ(d.code, "LC0205") << feature;
    EXPECT_THAT(d.message, ::testing::HasSubstr("line 2 column 1: the feature")) << feature;
    EXPECT_THAT(d.message, ::testing::EndsWith("cannot be trained on")) << feature;
  }
  // A regression target may be any finite number, but not nan.
  const auto regression = csv_error("1,2,0.5\n3,4,nan\n", {.integer_targets = false});
  EXPECT_THAT(regression.message, ::testing::EndsWith("line 2 column 3: the target nan cannot be trained on"));
  const auto path = std::filesystem::temp_directory_path() / "lightning_good.csv";
  std::ofstream(path) << "1,2,0.5\n3,4,1e20\n";
  EXPECT_EQ(CSVDataset(path, {.integer_targets = false}).targets()[1].item<float>(), 1e20f);
  std::filesystem::remove(path);
}

// A label beyond the model's classes failed the loss mid-training ("Target 99 is out of bounds.").
TEST(CSVDataset, AClassTargetOutsideNumClassesIsLC0205AtItsLineAndColumn) {
  for (const char* target : {"3", "99", "-1"}) {
    const auto d = csv_error(fmt::format("1,2,0\n3,4,2\n5,6,{}\n", target), {.num_classes = 3});
    EXPECT_EQ(d.code, "LC0205") << target;
    EXPECT_THAT(d.message, ::testing::EndsWith(fmt::format("line 3 column 3: the class target {} is not one of the 3 classes",
                                                           target)));
    EXPECT_EQ(d.received, target);
    EXPECT_EQ(d.expected, "a class index 0 to 2 (num_classes = 3)");
  }
  const auto path = std::filesystem::temp_directory_path() / "lightning_classes.csv";
  std::ofstream(path) << "1,2,0\n3,4,2\n";
  EXPECT_EQ(CSVDataset(path, {.num_classes = 3}).targets()[1].item<int64_t>(), 2);
  EXPECT_EQ(CSVDataset(path).targets()[1].item<int64_t>(), 2) << "unset: any whole number";
  std::filesystem::remove(path);
}

TEST(CSVDataset, ANegativeSkipRowsAndATargetColumnOutsideTheFileAreLC0206) {
  const auto skip = csv_error("1,2,0\n", {.skip_rows = -1});
  EXPECT_EQ(skip.code, "LC0206");
  EXPECT_EQ(skip.where(), "CSVDataset({.skip_rows = ...})");
  EXPECT_EQ(skip.received, "-1");
  const auto column = csv_error("1,2,0\n", {.target_column = 3});
  EXPECT_EQ(column.code, "LC0206");
  EXPECT_EQ(column.expected, "-3 to 2 (negative counts from the end)");
}

}  // namespace
}  // namespace lightning
