#pragma once

#include <lightning/data/batch.h>
#include <lightning/data/dataset.h>
#include <lightning/data/sampler.h>

#include <concepts>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

namespace lightning {

struct DataLoaderOptions {
  int64_t batch_size = 1;
  /// A new permutation each epoch, reproducible from `seed` (or from `seed_everything`).
  bool shuffle = false;
  /// Threads that prepare the next batches while the model trains; batches keep their order.
  int64_t num_workers = 0;
  /// Drop the last batch when it is smaller than `batch_size`.
  bool drop_last = false;
  /// Replaces `shuffle` when given.
  std::shared_ptr<const Sampler> sampler = nullptr;
  /// The shuffling seed. Unset: the seed of the last `seed_everything`, or a random one.
  std::optional<uint64_t> seed = std::nullopt;
  /// Replaces the default `collate` (which stacks tensors, recursing into tuples and maps).
  std::function<Batch(const std::vector<Batch>&)> collate_fn = nullptr;
  /// Batches each worker prepares ahead.
  int64_t prefetch_factor = 2;
};

/// Batches of a dataset, epoch by epoch (PyTorch's `DataLoader`).
///
///   pl::DataLoader loader(pl::TensorDataset(x, y), {.batch_size = 32, .shuffle = true});
///   for (const pl::Batch& batch : loader) { ... }
///
/// Options are checked by the Trainer before training (a MisconfigurationException lists them).
class DataLoader {
 public:
  template <std::derived_from<Dataset> D>
  explicit DataLoader(D dataset, DataLoaderOptions options = {})
      : DataLoader(std::make_shared<const D>(std::move(dataset)), std::move(options)) {}
  explicit DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});

  /// Number of batches per epoch (`len(loader)`), 0 when the options are invalid.
  int64_t size() const;
  /// Chooses the epoch whose order the next iteration follows.
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  int64_t epoch() const { return epoch_; }

  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }
  const Sampler& sampler() const { return *sampler_; }
  /// The sampler, shared (to wrap it in another, as the distributed strategy does).
  const std::shared_ptr<const Sampler>& shared_sampler() const { return sampler_; }
  /// Replaces the sampler (the distributed strategy injects its own).
  void set_sampler(std::shared_ptr<const Sampler> sampler);

  /// The batch `index` of the current epoch, computed on the calling thread.
  Batch batch(int64_t index) const;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;

    Iterator() = default;
    const Batch& operator*() const { return current_; }
    const Batch* operator->() const { return &current_; }
    Iterator& operator++();
    bool operator==(std::default_sentinel_t) const { return done_; }
    /// Index of the current batch within the epoch.
    int64_t index() const { return index_; }
    /// The dataset indices of the current batch's samples, in the batch's order (none past the end).
    std::vector<int64_t> sample_indices() const;

   private:
    friend class DataLoader;
    struct State;
    std::shared_ptr<State> state_;
    Batch current_;
    int64_t index_ = -1;
    bool done_ = true;
  };
  /// Starts an epoch: worker threads (if any) begin preparing batches. `skip` batches are not
  /// produced at all (resuming inside an epoch).
  Iterator begin(int64_t skip = 0) const;
  std::default_sentinel_t end() const { return {}; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::shared_ptr<const Sampler> sampler_;
  int64_t epoch_ = 0;
};

}  // namespace lightning
