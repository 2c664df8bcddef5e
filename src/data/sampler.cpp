#include <lightning/data/sampler.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <numeric>

namespace lightning {

std::vector<int64_t> SequentialSampler::indices(int64_t dataset_size, int64_t) const {
  std::vector<int64_t> order(static_cast<std::size_t>(dataset_size));
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

std::vector<int64_t> RandomSampler::indices(int64_t dataset_size, int64_t epoch) const {
  // A generator of its own, seeded from (seed, epoch): the global generators are left untouched,
  // and epoch e's order does not depend on how many epochs ran before it (exact resume).
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed_ + static_cast<uint64_t>(epoch));
  at::Tensor permutation = at::randperm(dataset_size, generator, at::kLong);
  const int64_t* data = permutation.data_ptr<int64_t>();
  return {data, data + dataset_size};
}

}  // namespace lightning
