#include <lightning/data/batch.h>
#include <lightning/core/module.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace lightning {
namespace {

TEST(Batch, IndexesTuplesAndMapsTheNaturalWay) {
  auto x = at::arange(6, at::kFloat).reshape({3, 2});
  auto y = at::arange(3, at::kLong);
  Batch tuple{x, y};
  EXPECT_TRUE(tuple[0].tensor().equal(x));
  EXPECT_TRUE(tuple[1].tensor().equal(y));
  EXPECT_EQ(tuple.batch_size(), 3);

  Batch dict(Batch::Dict{{"image", Batch(x)}, {"label", Batch(y)}});
  const at::Tensor& image = dict["image"];  // converts to the tensor
  EXPECT_TRUE(image.equal(x));
  EXPECT_EQ(dict.size(), 2u);
}

TEST(Batch, ExplainsWrongAccess) {
  Batch tuple{at::zeros({2}), at::ones({2})};
  EXPECT_THROW(tuple[2], std::out_of_range);
  try {
    (void)tuple.tensor();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "Batch: expected a tensor here, but this batch is a tuple");
  }
  Batch dict(Batch::Dict{{"image", Batch(at::zeros({1}))}});
  try {
    (void)dict["label"];
    FAIL();
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "Batch: no key \"label\"; the keys are \"image\"");
  }
}

TEST(Batch, MovesAndDetachesEveryTensorInOneCall) {
  auto w = at::ones({2}).set_requires_grad(true);
  Batch nested{Batch(w * 2), Batch(Batch::Dict{{"a", Batch(w * 3)}})};
  Batch detached = nested.detach();
  EXPECT_FALSE(detached[0].tensor().requires_grad());
  EXPECT_FALSE(detached[1]["a"].tensor().requires_grad());
  Batch moved = nested.to(at::Device(at::kCPU));
  EXPECT_TRUE(moved[1]["a"].tensor().equal(w * 3));
  int tensors = 0;
  nested.for_each_tensor([&](const at::Tensor&) { ++tensors; });
  EXPECT_EQ(tensors, 2);
}

TEST(StepOutput, SplitsTheLossFromTheOtherOutputs) {
  StepOutput out(std::map<std::string, at::Tensor>{{"loss", at::ones({})}, {"acc", at::zeros({})}});
  EXPECT_TRUE(out.loss.defined());
  EXPECT_EQ(out.extras.size(), 1u);
  EXPECT_TRUE(out.extras.contains("acc"));
  EXPECT_TRUE(StepOutput().empty());
}

}  // namespace
}  // namespace lightning
