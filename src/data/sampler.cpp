#include <lightning/data/sampler.h>

#include <lightning/diagnostics/diagnostic.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <numeric>
#include <stdexcept>
#include <string>

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

DistributedSampler::DistributedSampler(std::shared_ptr<const Sampler> base, int rank, int world_size)
    : base_(std::move(base)), rank_(rank), world_size_(world_size) {
  if (!base_) throw std::invalid_argument("DistributedSampler: the base sampler is null");
  DiagnosticCollector problems("while building DistributedSampler");
  check_at_least(problems, "LC0208", {"DistributedSampler", {"world_size"}}, world_size_, 1,
                 "the number of processes of the run, e.g. trainer.world_size()");
  if (world_size_ >= 1 && (rank_ < 0 || rank_ >= world_size_)) {
    problems.error(out_of_range("LC0208", {"DistributedSampler", {"rank"}}, fmt::format("in [0, {})", world_size_),
                                std::to_string(rank_), fmt::format("a rank of a world of {}", world_size_),
                                "this process's rank, e.g. trainer.global_rank()"));
  }
  problems.throw_if_errors();
}

int64_t DistributedSampler::length(int64_t dataset_size) const {
  return (base_->length(dataset_size) + world_size_ - 1) / world_size_;
}

std::vector<int64_t> DistributedSampler::indices(int64_t dataset_size, int64_t epoch) const {
  const std::vector<int64_t> order = base_->indices(dataset_size, epoch);
  const int64_t share = length(dataset_size);
  std::vector<int64_t> mine;
  mine.reserve(static_cast<std::size_t>(share));
  for (int64_t k = 0; k < share; ++k) {
    const auto position = static_cast<std::size_t>(k * world_size_ + rank_);
    // Past the end, the order starts again from its beginning (PyTorch's padding).
    mine.push_back(order[position % order.size()]);
  }
  return mine;
}

}  // namespace lightning
