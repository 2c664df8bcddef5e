#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace lightning {

/// Chooses the order in which a DataLoader visits a dataset's indices, epoch by epoch.
class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The indices to visit in `epoch` for a dataset of `dataset_size` samples. Must be a pure
  /// function of its arguments and the sampler's options, so that runs reproduce and resume.
  virtual std::vector<int64_t> indices(int64_t dataset_size, int64_t epoch) const = 0;
  /// How many indices `indices` returns for a dataset of `dataset_size` samples.
  virtual int64_t length(int64_t dataset_size) const { return dataset_size; }
};

/// 0, 1, ..., n-1 every epoch.
class SequentialSampler : public Sampler {
 public:
  std::vector<int64_t> indices(int64_t dataset_size, int64_t epoch) const override;
};

/// A permutation drawn from (seed, epoch): the same for the same pair, different between epochs.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed) : seed_(seed) {}
  std::vector<int64_t> indices(int64_t dataset_size, int64_t epoch) const override;
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
};

/// One rank's share of another sampler's order (PyTorch's DistributedSampler, applied to the
/// loader's own sampler): the order is padded by repeating its start until every rank gets the
/// same count, then rank r takes positions r, r + world_size, ... The ranks' shares are disjoint
/// and together cover the dataset. Every rank must wrap a sampler that gives the same order.
///
///   loader.set_sampler(std::make_shared<pl::DistributedSampler>(base, /*rank=*/1, /*world_size=*/2));
class DistributedSampler : public Sampler {
 public:
  /// Throws MisconfigurationException (LC0208) for a world_size below 1 or a rank outside it.
  DistributedSampler(std::shared_ptr<const Sampler> base, int rank, int world_size);
  std::vector<int64_t> indices(int64_t dataset_size, int64_t epoch) const override;
  /// ceil(base length / world_size).
  int64_t length(int64_t dataset_size) const override;
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const Sampler& base() const { return *base_; }

 private:
  std::shared_ptr<const Sampler> base_;
  int rank_;
  int world_size_;
};

}  // namespace lightning
