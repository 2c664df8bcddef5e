#include <lightning/data/dataloader.h>

#include <lightning/utilities/seed.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

namespace lightning {

/// One epoch's pass: the order of indices and, with workers, the threads preparing batches ahead.
struct DataLoader::Iterator::State {
  const DataLoader* loader = nullptr;
  std::vector<int64_t> order;
  int64_t batch_count = 0;
  int64_t next_to_take = 0;

  // Worker threads: each takes the next batch number not yet claimed, as long as it lies within
  // `window` batches of the one the training loop waits for, and files the result by number.
  std::mutex mutex;
  std::condition_variable work_available;
  std::condition_variable result_ready;
  int64_t next_to_claim = 0;
  int64_t window = 0;
  bool stopping = false;
  std::map<int64_t, Batch> results;
  std::map<int64_t, std::exception_ptr> errors;
  std::vector<std::thread> workers;

  /// The dataset indices batch `number` is made of.
  std::span<const int64_t> indices_of(int64_t number) const {
    const int64_t batch_size = loader->options_.batch_size;
    const int64_t begin = number * batch_size;
    const int64_t end = std::min<int64_t>(begin + batch_size, static_cast<int64_t>(order.size()));
    return {order.data() + begin, static_cast<std::size_t>(end - begin)};
  }

  Batch make(int64_t number) const {
    const std::span<const int64_t> indices = indices_of(number);
    if (!loader->options_.collate_fn) return loader->dataset_->get_batch(indices);
    std::vector<Batch> samples;
    samples.reserve(indices.size());
    for (int64_t index : indices) samples.push_back(loader->dataset_->get(index));
    return loader->options_.collate_fn(samples);
  }

  void work() {
    while (true) {
      int64_t number = 0;
      {
        std::unique_lock lock(mutex);
        work_available.wait(lock, [&] {
          return stopping || next_to_claim >= batch_count || next_to_claim < next_to_take + window;
        });
        if (stopping || next_to_claim >= batch_count) return;
        number = next_to_claim++;
      }
      Batch batch;
      std::exception_ptr error;
      try {
        batch = make(number);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex);
      if (error) {
        errors.emplace(number, error);
      } else {
        results.emplace(number, std::move(batch));
      }
      result_ready.notify_all();
    }
  }

  Batch take(int64_t number) {
    if (workers.empty()) return make(number);
    std::unique_lock lock(mutex);
    result_ready.wait(lock, [&] { return results.contains(number) || errors.contains(number); });
    next_to_take = number + 1;
    work_available.notify_all();
    if (auto error = errors.find(number); error != errors.end()) std::rethrow_exception(error->second);
    auto found = results.find(number);
    Batch batch = std::move(found->second);
    results.erase(found);
    return batch;
  }

  ~State() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    work_available.notify_all();
    for (auto& worker : workers) worker.join();
  }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  if (!dataset_) throw std::invalid_argument("DataLoader: the dataset is null");
  if (options_.sampler) {
    sampler_ = options_.sampler;
  } else if (options_.shuffle) {
    std::optional<uint64_t> seed = options_.seed ? options_.seed : global_seed();
    sampler_ = std::make_shared<RandomSampler>(seed ? *seed : std::random_device{}());
  } else {
    sampler_ = std::make_shared<SequentialSampler>();
  }
}

void DataLoader::set_sampler(std::shared_ptr<const Sampler> sampler) {
  if (!sampler) throw std::invalid_argument("DataLoader::set_sampler: the sampler is null");
  sampler_ = std::move(sampler);
}

int64_t DataLoader::size() const {
  const int64_t batch_size = options_.batch_size;
  if (batch_size < 1) return 0;
  const int64_t samples = sampler_->length(dataset_->size());
  return options_.drop_last ? samples / batch_size : (samples + batch_size - 1) / batch_size;
}

Batch DataLoader::batch(int64_t index) const {
  Iterator::State state;
  state.loader = this;
  state.order = sampler_->indices(dataset_->size(), epoch_);
  return state.make(index);
}

DataLoader::Iterator DataLoader::begin(int64_t skip) const {
  Iterator it;
  it.state_ = std::make_shared<Iterator::State>();
  auto& state = *it.state_;
  state.loader = this;
  state.order = sampler_->indices(dataset_->size(), epoch_);
  state.batch_count = size();
  state.next_to_take = skip;
  state.next_to_claim = skip;
  state.window = std::max<int64_t>(1, options_.num_workers * std::max<int64_t>(1, options_.prefetch_factor));
  for (int64_t w = 0; w < options_.num_workers; ++w) {
    state.workers.emplace_back([&state] { state.work(); });
  }
  it.index_ = skip - 1;
  it.done_ = false;
  ++it;
  return it;
}

std::vector<int64_t> DataLoader::Iterator::sample_indices() const {
  if (done_ || !state_) return {};
  const std::span<const int64_t> indices = state_->indices_of(index_);
  return {indices.begin(), indices.end()};
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++index_;
  if (index_ >= state_->batch_count) {
    done_ = true;
    current_ = Batch();
    state_.reset();  // stops the workers now, not when the iterator goes out of scope
    return *this;
  }
  current_ = state_->take(index_);
  return *this;
}

}  // namespace lightning
