// The gradient reducer in one process: a fake process group stands for a second rank whose
// gradients are all ones, so an averaged gradient must read (g + 1) / 2. Each bucket carries one
// "used" flag per parameter after its gradients, so a bucket of n parameters sums numel + n values.

#include "strategies/gradient_reducer.h"
#include "strategies/process_group.h"
#include "support/support.h"

#include <lightning/accelerators/environment.h>

#include <torch/nn/modules/linear.h>

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <string>
#include <vector>

namespace lightning::detail {
namespace {

/// Sums with a second rank whose gradients are all ones (and who uses every parameter), or, with
/// `second_rank_is_a_copy`, exactly this rank's; records what each sum saw when it started.
struct FakeGroup final : AsyncSum {
  bool second_rank_is_a_copy = false;
  std::vector<int64_t> started_numels;
  /// Whether the first layer's weight had its gradient when each sum started.
  std::vector<bool> first_layer_done;
  at::Tensor first_layer_weight;
  int waits = 0;

  int world_size() const override { return 2; }
  std::function<void()> start_sum(at::Tensor tensor) override {
    started_numels.push_back(tensor.numel());
    first_layer_done.push_back(first_layer_weight.defined() && first_layer_weight.grad().defined());
    return [this, tensor]() mutable {
      second_rank_is_a_copy ? tensor.mul_(2.0) : tensor.add_(1.0);
      ++waits;
    };
  }
};

/// Linear(4, 8) -> tanh -> Linear(8, 3): parameters w1 (32), b1 (8), w2 (24), b2 (3).
struct TwoLayers {
  torch::nn::Linear first{4, 8};
  torch::nn::Linear second{8, 3};
  std::vector<at::Tensor> parameters() const { return {first->weight, first->bias, second->weight, second->bias}; }
  at::Tensor loss(const at::Tensor& x) { return second(at::tanh(first(x))).pow(2).sum(); }
};

std::vector<at::Tensor> gradients_of(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> out;
  for (const auto& p : parameters) out.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
  return out;
}

void zero_gradients(const std::vector<at::Tensor>& parameters) {
  for (auto p : parameters) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

class GradientReducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::manual_seed(0);
    x = at::randn({5, 4});
    model.loss(x).backward();
    plain = gradients_of(model.parameters());
    zero_gradients(model.parameters());
    group.first_layer_weight = model.first->weight;
  }
  TwoLayers model;
  at::Tensor x;
  std::vector<at::Tensor> plain;  // the gradients of one backward, unreduced
  FakeGroup group;
};

TEST_F(GradientReducerTest, EveryBucketStartsDuringBackwardLastLayerFirstAndGradientsAreAveraged) {
  GradientReducer reducer(group, model.parameters(), /*bucket_bytes=*/1);  // one parameter per bucket
  ASSERT_EQ(reducer.bucket_count(), 4u);
  reducer.prepare_for_backward();
  model.loss(x).backward();
  EXPECT_EQ(group.waits, 0);  // nothing waited for during backward
  reducer.finish();
  EXPECT_EQ(group.started_numels, (std::vector<int64_t>{3 + 1, 24 + 1, 8 + 1, 32 + 1}));  // b2, w2, b1, w1
  EXPECT_EQ(reducer.buckets_started_in_backward(), 4u);
  // The last layer's sums started before backward reached the first layer: communication overlaps.
  EXPECT_EQ(group.first_layer_done, (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(group.waits, 4);
  const auto parameters = model.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    EXPECT_TRUE(at::allclose(parameters[i].grad(), (plain[i] + 1) / 2, 0, 1e-7)) << "parameter " << i;
  }
}

TEST_F(GradientReducerTest, DefaultBucketsFollowPyTorchAndSmallModelsFitOne) {
  GradientReducer reducer(group, model.parameters(), /*bucket_bytes=*/25 << 20);
  EXPECT_EQ(reducer.bucket_count(), 1u);
  reducer.prepare_for_backward();
  model.loss(x).backward();
  reducer.finish();
  EXPECT_EQ(group.started_numels, (std::vector<int64_t>{67 + 4}));
  EXPECT_EQ(reducer.buckets_started_in_backward(), 1u);
  EXPECT_TRUE(at::allclose(model.first->weight.grad(), (plain[0] + 1) / 2, 0, 1e-7));
}

TEST_F(GradientReducerTest, BackwardWithoutPrepareLeavesGradientsAloneAsUnderNoSync) {
  GradientReducer reducer(group, model.parameters(), 1);
  model.loss(x).backward();
  EXPECT_TRUE(group.started_numels.empty());
  EXPECT_TRUE(at::equal(model.second->weight.grad(), plain[2]));
  // The window's last backward averages what the window accumulated.
  reducer.prepare_for_backward();
  model.loss(x).backward();
  reducer.finish();
  EXPECT_TRUE(at::allclose(model.second->weight.grad(), (2 * plain[2] + 1) / 2, 0, 1e-6));
}

TEST_F(GradientReducerTest, AParameterUnusedHereButUsedByAnotherRankGetsTheAverageAtFinish) {
  torch::nn::Linear unused(2, 2);
  auto parameters = model.parameters();
  parameters.insert(parameters.begin(), unused->weight);  // last in reverse order: its own last bucket
  GradientReducer reducer(group, parameters, 1);
  reducer.prepare_for_backward();
  model.loss(x).backward();
  EXPECT_EQ(reducer.buckets_started_in_backward(), 4u) << "its bucket waits for finish()";
  reducer.finish();
  EXPECT_EQ(group.started_numels, (std::vector<int64_t>{3 + 1, 24 + 1, 8 + 1, 32 + 1, 4 + 1}));
  // This rank's zeros and the other rank's ones: every rank's optimizer steps it alike.
  ASSERT_TRUE(unused->weight.grad().defined());
  EXPECT_TRUE(at::equal(unused->weight.grad(), at::full({2, 2}, 0.5)));
  EXPECT_TRUE(at::allclose(model.first->bias.grad(), (plain[1] + 1) / 2, 0, 1e-7));
}

TEST_F(GradientReducerTest, AParameterNoRankUsedKeepsNoGradientAndSharesABucketWithUsedOnes) {
  group.second_rank_is_a_copy = true;
  torch::nn::Linear unused(2, 2);
  auto parameters = model.parameters();
  parameters.push_back(unused->weight);  // first in reverse order: in the bucket of b2 and w2
  GradientReducer reducer(group, parameters, 25 << 20);
  ASSERT_EQ(reducer.bucket_count(), 1u);
  reducer.prepare_for_backward();
  model.loss(x).backward();
  EXPECT_EQ(reducer.buckets_started_in_backward(), 0u);
  reducer.finish();
  EXPECT_EQ(group.started_numels, (std::vector<int64_t>{4 + 67 + 5}));
  EXPECT_FALSE(unused->weight.grad().defined()) << "no rank used it: the optimizer skips it, as in one process";
  const auto trained = model.parameters();
  for (std::size_t i = 0; i < trained.size(); ++i) {
    EXPECT_TRUE(at::allclose(trained[i].grad(), plain[i], 0, 1e-7)) << "parameter " << i;
  }
}

TEST_F(GradientReducerTest, FrozenParametersGoLastAndAreSkippedWhenNoRankHasTheirGradients) {
  group.second_rank_is_a_copy = true;
  model.second->bias.set_requires_grad(false);
  GradientReducer reducer(group, model.parameters(), 1);
  reducer.prepare_for_backward();
  model.loss(x).backward();
  reducer.finish();
  // w2, b1, w1, then the ranks' one-number count of gradients in the frozen bucket (none).
  EXPECT_EQ(group.started_numels, (std::vector<int64_t>{24 + 1, 8 + 1, 32 + 1, 1}));
  EXPECT_EQ(reducer.buckets_started_in_backward(), 3u);
  EXPECT_FALSE(model.second->bias.grad().defined());
}

TEST_F(GradientReducerTest, AFrozenBucketIsSummedWhenAnotherRankHasAGradientInIt) {
  model.second->bias.set_requires_grad(false);  // here; the other rank (all ones) has unfrozen it
  GradientReducer reducer(group, model.parameters(), 1);
  reducer.prepare_for_backward();
  model.loss(x).backward();
  reducer.finish();
  EXPECT_EQ(group.started_numels, (std::vector<int64_t>{24 + 1, 8 + 1, 32 + 1, 1, 3 + 1}));
  ASSERT_TRUE(model.second->bias.grad().defined());
  EXPECT_TRUE(at::equal(model.second->bias.grad(), at::full({3}, 0.5)));
}

TEST_F(GradientReducerTest, TwoBackwardsInOneWindowAreSummedAgainFromTheFinalGradients) {
  GradientReducer reducer(group, model.parameters(), 1);
  reducer.prepare_for_backward();
  model.loss(x).backward();
  model.loss(x).backward();  // every bucket already started: the second accumulation makes them stale
  reducer.finish();
  EXPECT_EQ(group.started_numels.size(), 8u);
  const auto parameters = model.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    EXPECT_TRUE(at::allclose(parameters[i].grad(), (2 * plain[i] + 1) / 2, 0, 1e-6)) << "parameter " << i;
  }
}

TEST(BucketIndices, FirstBucketIsCappedAtOneMebibyteTheOthersAtTheGivenSizeAndDtypesNeverMix) {
  const std::vector<at::Tensor> tensors{at::zeros({200'000}), at::zeros({100'000}), at::zeros({10}, at::kDouble),
                                        at::zeros({10}, at::kDouble), at::zeros({300'000})};
  // 800 kB + 400 kB exceeds the first bucket's 1 MiB; the doubles get their own; the last float
  // tensor starts a new bucket after them.
  EXPECT_EQ(bucket_indices(tensors, kFirstBucketBytes, 25 << 20),
            (std::vector<std::vector<std::size_t>>{{0}, {1}, {2, 3}, {4}}));
  const std::vector<at::Tensor> four(4, at::zeros({100'000}));  // 400 kB each
  EXPECT_EQ(bucket_indices(four, kFirstBucketBytes, 25 << 20), (std::vector<std::vector<std::size_t>>{{0, 1}, {2, 3}}));
  EXPECT_EQ(bucket_indices({at::zeros({10}), at::zeros({10}), at::zeros({10})}, 40, 80),
            (std::vector<std::vector<std::size_t>>{{0}, {1, 2}}));
}

// On the GPU: the buckets, the used counts and the averaging on CUDA tensors give what they give
// on the CPU, and an unused parameter still gets the other rank's average.
TEST(GradientReducerOnTheGpu, AveragesCudaGradientsAsOnTheCpu_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  std::vector<std::vector<at::Tensor>> reduced;
  for (const auto device : {at::Device(at::kCPU), at::Device(at::kCUDA, 0)}) {
    at::manual_seed(0);
    TwoLayers model;
    torch::nn::Linear unused(2, 2);
    model.first->to(device);
    model.second->to(device);
    unused->to(device);
    auto parameters = model.parameters();
    parameters.insert(parameters.begin(), unused->weight);
    FakeGroup group;
    GradientReducer reducer(group, parameters, /*bucket_bytes=*/64);
    reducer.prepare_for_backward();
    model.loss(at::randn({5, 4}, at::make_generator<at::CPUGeneratorImpl>(7)).to(device)).backward();
    reducer.finish();
    for (const auto& p : parameters) ASSERT_EQ(p.grad().device(), device);
    std::vector<at::Tensor> grads;
    for (const auto& p : parameters) grads.push_back(p.grad().cpu());
    reduced.push_back(grads);
  }
  EXPECT_TRUE(at::equal(reduced[1][0], at::full({2, 2}, 0.5))) << "the unused parameter's average";
  for (std::size_t i = 0; i < reduced[0].size(); ++i) {
    EXPECT_TRUE(at::allclose(reduced[0][i], reduced[1][i], 1e-5, 1e-6)) << "parameter " << i;
  }
}

// NCCL's process group with one rank on this machine's GPU: it forms, and sums, gathers and
// broadcasts CUDA tensors and CPU ones (copied to the GPU and back).
TEST(NcclProcessGroup, OneRankFormsAndReducesOnTheGpu_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  if (!Environment::detect().nccl_built) GTEST_SKIP() << "lightning-cpp was built without NCCL";
  ProcessGroup group({.port = 0, .rank = 0, .world_size = 1, .timeout = std::chrono::seconds(60), .serve_store = true,
                      .backend = "nccl", .device = at::Device(at::kCUDA, 0)});
  group.join();
  auto on_gpu = at::tensor({1.0F, 2.0F}, at::TensorOptions().device(at::kCUDA));
  group.all_reduce(on_gpu, ReduceOp::kSum);
  EXPECT_TRUE(at::equal(on_gpu.cpu(), at::tensor({1.0F, 2.0F})));
  auto on_cpu = at::tensor({3.0F});
  group.all_reduce(on_cpu, ReduceOp::kMax);
  EXPECT_TRUE(on_cpu.device().is_cpu());
  EXPECT_EQ(on_cpu.item<float>(), 3.0F);
  EXPECT_TRUE(at::equal(group.all_gather(at::tensor({4.0F})).cpu().flatten(), at::tensor({4.0F})));
  auto broadcast = at::tensor({5.0F});
  group.broadcast(broadcast, 0);
  EXPECT_EQ(broadcast.item<float>(), 5.0F);
  auto sum = group.start_sum(on_gpu);
  sum();
  EXPECT_TRUE(at::equal(on_gpu.cpu(), at::tensor({1.0F, 2.0F})));
  group.barrier();
}

}  // namespace
}  // namespace lightning::detail
