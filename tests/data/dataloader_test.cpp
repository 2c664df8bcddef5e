#include <lightning/data/dataloader.h>
#include <lightning/diagnostics/diagnostic.h>
#include <lightning/utilities/seed.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

namespace lightning {
namespace {

TensorDataset numbered(int64_t n) {
  auto x = at::arange(n, at::kLong);
  return TensorDataset(x, x * 10);
}

std::vector<int64_t> order_of(const DataLoader& loader) {
  std::vector<int64_t> order;
  for (const Batch& batch : loader) {
    const at::Tensor& ids = batch[0];
    for (int64_t i = 0; i < ids.size(0); ++i) order.push_back(ids[i].item<int64_t>());
  }
  return order;
}

TEST(DataLoader, BatchesInOrderWithALastPartialBatch) {
  DataLoader loader(numbered(10), {.batch_size = 4});
  EXPECT_EQ(loader.size(), 3);
  std::vector<int64_t> sizes;
  for (const Batch& batch : loader) {
    sizes.push_back(batch.batch_size());
    EXPECT_TRUE(batch[1].tensor().equal(batch[0].tensor() * 10));
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(order_of(loader), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DataLoader, DropLastDropsThePartialBatch) {
  DataLoader loader(numbered(10), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(loader.size(), 2);
  EXPECT_EQ(order_of(loader).size(), 8u);
  DataLoader too_large(numbered(3), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(too_large.size(), 0);
  EXPECT_TRUE(too_large.begin() == too_large.end());
}

TEST(DataLoader, ShuffleIsReproduciblePerEpochAndDiffersBetweenEpochs) {
  DataLoader a(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 3});
  DataLoader b(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 3});
  const auto epoch0 = order_of(a);
  EXPECT_EQ(order_of(b), epoch0);
  EXPECT_EQ(order_of(a), epoch0) << "the same epoch gives the same order again";
  a.set_epoch(1);
  const auto epoch1 = order_of(a);
  EXPECT_NE(epoch1, epoch0);
  EXPECT_EQ(std::set<int64_t>(epoch1.begin(), epoch1.end()).size(), 50u) << "a permutation";
  b.set_epoch(1);
  EXPECT_EQ(order_of(b), epoch1);
  DataLoader other_seed(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 4});
  EXPECT_NE(order_of(other_seed), epoch0);
}

TEST(DataLoader, ShuffleFollowsSeedEverythingWhenNoSeedIsGiven) {
  seed_everything(11);
  DataLoader a(numbered(40), {.batch_size = 5, .shuffle = true});
  seed_everything(11);
  DataLoader b(numbered(40), {.batch_size = 5, .shuffle = true});
  EXPECT_EQ(order_of(a), order_of(b));
}

TEST(DataLoader, WorkerThreadsKeepTheOrderOfTheSingleThreadedLoader) {
  DataLoader single(numbered(1000), {.batch_size = 7, .shuffle = true, .seed = 5});
  for (int64_t workers : {1, 2, 4}) {
    DataLoader threaded(numbered(1000), {.batch_size = 7, .shuffle = true, .num_workers = workers, .seed = 5});
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      single.set_epoch(epoch);
      threaded.set_epoch(epoch);
      EXPECT_EQ(order_of(threaded), order_of(single)) << workers << " workers, epoch " << epoch;
    }
  }
}

TEST(DataLoader, StoppingEarlyWithWorkersEndsCleanly) {
  DataLoader loader(numbered(1000), {.batch_size = 2, .num_workers = 3});
  int seen = 0;
  for (const Batch& batch : loader) {
    (void)batch;
    if (++seen == 3) break;
  }
  EXPECT_EQ(seen, 3);
}

TEST(DataLoader, WorkerErrorsReachTheTrainingThread) {
  struct Failing : Dataset {
    int64_t size() const override { return 10; }
    Batch get(int64_t index) const override {
      if (index == 6) throw std::runtime_error("sample 6 is corrupt");
      return Batch(at::full({1}, index));
    }
  };
  DataLoader loader(Failing(), {.batch_size = 2, .num_workers = 2});
  int batches = 0;
  try {
    for (const Batch& batch : loader) {
      (void)batch;
      ++batches;
    }
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "sample 6 is corrupt");
  }
  EXPECT_EQ(batches, 3);
}

TEST(DataLoader, CustomSamplerAndCollate) {
  struct Reversed : Sampler {
    std::vector<int64_t> indices(int64_t n, int64_t) const override {
      std::vector<int64_t> out;
      for (int64_t i = n - 1; i >= 0; --i) out.push_back(i);
      return out;
    }
  };
  DataLoader loader(numbered(5), {.batch_size = 2, .sampler = std::make_shared<Reversed>()});
  EXPECT_EQ(order_of(loader), (std::vector<int64_t>{4, 3, 2, 1, 0}));

  int calls = 0;
  DataLoader counted(numbered(4), {.batch_size = 2, .collate_fn = [&](const std::vector<Batch>& samples) {
                                     ++calls;
                                     return collate(samples);
                                   }});
  EXPECT_EQ(order_of(counted), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace lightning

namespace lightning {
namespace {

TEST(DistributedSampler, RanksGetDisjointSharesThatCoverTheDatasetInTheBaseOrder) {
  auto base = std::make_shared<RandomSampler>(5);
  const auto order = base->indices(10, /*epoch=*/3);
  DistributedSampler rank0(base, 0, 2), rank1(base, 1, 2);
  const auto share0 = rank0.indices(10, 3), share1 = rank1.indices(10, 3);
  ASSERT_EQ(share0.size(), 5u);
  ASSERT_EQ(rank0.length(10), 5);
  for (std::size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(share0[k], order[2 * k]);
    EXPECT_EQ(share1[k], order[2 * k + 1]);
  }
  std::vector<int64_t> all = share0;
  all.insert(all.end(), share1.begin(), share1.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i);
  EXPECT_NE(rank0.indices(10, 4), share0) << "a new order each epoch";
}

TEST(DistributedSampler, PadsByRepeatingTheStartSoEveryRankGetsTheSameCount) {
  auto base = std::make_shared<SequentialSampler>();
  DistributedSampler rank0(base, 0, 3), rank1(base, 1, 3), rank2(base, 2, 3);
  EXPECT_EQ(rank0.indices(7, 0), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(rank1.indices(7, 0), (std::vector<int64_t>{1, 4, 0}));
  EXPECT_EQ(rank2.indices(7, 0), (std::vector<int64_t>{2, 5, 1}));
  DataLoader loader(TensorDataset(at::arange(7)), {.batch_size = 2});
  loader.set_sampler(std::make_shared<DistributedSampler>(loader.shared_sampler(), 2, 3));
  EXPECT_EQ(loader.size(), 2) << "three samples, in batches of two";
  EXPECT_THROW(DistributedSampler(base, 3, 3), std::invalid_argument);
}

TEST(DistributedSampler, ARankOutsideItsWorldIsLC0208) {
  auto base = std::make_shared<SequentialSampler>();
  try {
    DistributedSampler(base, 3, 3);
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    const Diagnostic& d = e.diagnostics()[0];
    EXPECT_EQ(d.code, "LC0208");
    EXPECT_EQ(d.message, "DistributedSampler option `rank` must be in [0, 3)");
    EXPECT_EQ(d.where(), "DistributedSampler({.rank = ...})");
    EXPECT_EQ(d.received, "3");
  }
  try {
    DistributedSampler(base, 0, 0);
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << "a rank is not judged against an empty world";
    EXPECT_EQ(e.diagnostics()[0].message, "DistributedSampler option `world_size` must be >= 1");
  }
}

}  // namespace
}  // namespace lightning
