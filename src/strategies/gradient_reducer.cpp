#include "strategies/gradient_reducer.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <mutex>

namespace lightning::detail {

std::vector<std::vector<std::size_t>> bucket_indices(const std::vector<at::Tensor>& tensors, int64_t first_bucket_bytes,
                                                     int64_t bucket_bytes) {
  std::vector<std::vector<std::size_t>> buckets;
  int64_t bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& tensor = tensors[i];
    const int64_t size = tensor.numel() * static_cast<int64_t>(tensor.element_size());
    const int64_t cap = buckets.size() == 1 ? std::min(first_bucket_bytes, bucket_bytes) : bucket_bytes;
    const bool same_kind = !buckets.empty() && tensors[buckets.back().front()].scalar_type() == tensor.scalar_type() &&
                           tensors[buckets.back().front()].device() == tensor.device();
    if (!same_kind || bytes + size > cap) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += size;
  }
  return buckets;
}

namespace {

struct Bucket {
  std::vector<std::size_t> parameters;
  std::size_t waiting = 0;  // parameters not yet ready in this backward (trainable buckets)
  at::Tensor flat;          // the gradients' sum while its allreduce runs
  std::function<void()> wait;
};

}  // namespace

struct GradientReducer::State {
  std::mutex mutex;
  AsyncSum* group;
  std::vector<at::Tensor> parameters;
  std::vector<Bucket> buckets;
  /// Buckets before it hold trainable parameters, whose hooks start them during backward; those
  /// from it on hold the parameters frozen when the reducer was made.
  std::size_t first_frozen = 0;
  std::vector<std::size_t> bucket_of;  // parameter -> bucket
  std::vector<bool> ready;             // parameter: its gradient is accumulated in this backward
  std::size_t next_bucket = 0;         // buckets before it have started
  bool armed = false;
  /// A gradient changed after its bucket had started (a parameter accumulated twice in one
  /// backward): finish() sums every bucket again.
  bool stale = false;
  std::size_t started_in_backward = 0;

  void mark_ready(std::size_t parameter) {
    std::lock_guard lock(mutex);
    if (!armed) return;
    Bucket& bucket = buckets[bucket_of[parameter]];
    if (ready[parameter]) {
      if (bucket_of[parameter] < next_bucket) stale = true;
      return;
    }
    ready[parameter] = true;
    --bucket.waiting;
    while (next_bucket < first_frozen && buckets[next_bucket].waiting == 0) {
      start(buckets[next_bucket++]);
      ++started_in_backward;
    }
  }

  /// The bucket's gradients (zeros where this rank has none) followed by one "used" flag per
  /// parameter, 1 where this rank has a gradient: after the sum, a flag above zero says some rank
  /// gave the parameter a gradient. One allreduce carries both.
  void start(Bucket& bucket) {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> pieces;
    std::vector<double> used;
    for (const std::size_t i : bucket.parameters) {
      const at::Tensor& grad = parameters[i].grad();
      pieces.push_back(grad.defined() ? grad.reshape({-1}) : at::zeros({parameters[i].numel()}, parameters[i].options()));
      used.push_back(grad.defined() ? 1.0 : 0.0);
    }
    pieces.push_back(at::tensor(used, at::TensorOptions(at::kDouble)).to(pieces.front().options()));
    bucket.flat = at::cat(pieces);
    bucket.wait = group->start_sum(bucket.flat);
  }

  bool any_gradient(const Bucket& bucket) const {
    return std::any_of(bucket.parameters.begin(), bucket.parameters.end(),
                       [&](std::size_t i) { return parameters[i].grad().defined(); });
  }
};

/// Runs after a parameter's gradient accumulator: the parameter's gradient is complete.
class ReadyHook final : public torch::autograd::FunctionPostHook {
 public:
  ReadyHook(std::weak_ptr<GradientReducer::State> state, std::size_t parameter)
      : state_(std::move(state)), parameter_(parameter) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    if (auto state = state_.lock()) state->mark_ready(parameter_);
    return outputs;
  }

 private:
  std::weak_ptr<GradientReducer::State> state_;
  std::size_t parameter_;
};

GradientReducer::GradientReducer(AsyncSum& group, const std::vector<at::Tensor>& parameters, int64_t bucket_bytes)
    : state_(std::make_shared<State>()) {
  state_->group = &group;
  // Gradients arrive from the output backwards; parameters that train nothing go last, so that
  // they never hold back a bucket that could start during backward.
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    if (it->requires_grad()) state_->parameters.push_back(*it);
  }
  const std::size_t trainable = state_->parameters.size();
  for (const auto& parameter : parameters) {
    if (!parameter.requires_grad()) state_->parameters.push_back(parameter);
  }
  state_->bucket_of.resize(state_->parameters.size());
  state_->ready.resize(state_->parameters.size());
  // Trainable and frozen parameters never share a bucket.
  const std::vector<at::Tensor> trainable_part(state_->parameters.begin(), state_->parameters.begin() + trainable);
  const std::vector<at::Tensor> frozen_part(state_->parameters.begin() + trainable, state_->parameters.end());
  const auto add_buckets = [&](const std::vector<at::Tensor>& part, std::size_t offset) {
    for (auto& indices : bucket_indices(part, kFirstBucketBytes, bucket_bytes)) {
      Bucket bucket;
      for (const std::size_t i : indices) {
        bucket.parameters.push_back(i + offset);
        state_->bucket_of[i + offset] = state_->buckets.size();
      }
      state_->buckets.push_back(std::move(bucket));
    }
  };
  add_buckets(trainable_part, 0);
  state_->first_frozen = state_->buckets.size();
  add_buckets(frozen_part, trainable);
  // The accumulators are kept alive: a parameter holds its own only weakly, and a new one would
  // come without the hook.
  for (std::size_t i = 0; i < trainable; ++i) {
    auto accumulator = torch::autograd::impl::grad_accumulator(state_->parameters[i]);
    if (!accumulator) continue;  // not a leaf: its bucket starts at finish()
    accumulator->add_post_hook(std::make_unique<ReadyHook>(state_, i));
    accumulators_.push_back(std::move(accumulator));
  }
}

GradientReducer::~GradientReducer() = default;

void GradientReducer::prepare_for_backward() {
  std::lock_guard lock(state_->mutex);
  std::fill(state_->ready.begin(), state_->ready.end(), false);
  for (std::size_t b = 0; b < state_->buckets.size(); ++b) {
    Bucket& bucket = state_->buckets[b];
    bucket.waiting = b < state_->first_frozen ? bucket.parameters.size() : 0;
    bucket.flat = at::Tensor();
    bucket.wait = nullptr;
  }
  state_->next_bucket = 0;
  state_->stale = false;
  state_->started_in_backward = 0;
  state_->armed = true;
}

void GradientReducer::finish() {
  std::lock_guard lock(state_->mutex);
  State& state = *state_;
  state.armed = false;
  const std::size_t first_frozen = state.first_frozen;
  for (std::size_t b = state.next_bucket; b < first_frozen; ++b) state.start(state.buckets[b]);
  // A frozen bucket is summed only when some rank has a gradient in it (a layer unfrozen since fit
  // started): the ranks decide together, in one small sum, so that they skip the same buckets.
  std::vector<bool> frozen_summed;
  if (first_frozen < state.buckets.size()) {
    std::vector<double> flags;
    for (std::size_t b = first_frozen; b < state.buckets.size(); ++b) {
      flags.push_back(state.any_gradient(state.buckets[b]) ? 1.0 : 0.0);
    }
    const auto& options = state.parameters[state.buckets[first_frozen].parameters.front()].options();
    at::Tensor anywhere = at::tensor(flags, at::TensorOptions(at::kDouble)).to(options.dtype(at::kFloat));
    state.group->start_sum(anywhere)();
    anywhere = anywhere.cpu();
    for (std::size_t b = first_frozen; b < state.buckets.size(); ++b) {
      frozen_summed.push_back(anywhere[static_cast<int64_t>(b - first_frozen)].item<float>() > 0);
    }
  }
  const auto start_frozen = [&] {
    for (std::size_t b = first_frozen; b < state.buckets.size(); ++b) {
      Bucket& bucket = state.buckets[b];
      if (frozen_summed[b - first_frozen]) {
        state.start(bucket);
      } else {
        bucket.wait = nullptr;
      }
    }
  };
  start_frozen();
  for (auto& bucket : state.buckets) {
    if (bucket.wait) bucket.wait();
  }
  if (state.stale) {
    for (std::size_t b = 0; b < first_frozen; ++b) state.start(state.buckets[b]);
    start_frozen();
    for (auto& bucket : state.buckets) {
      if (bucket.wait) bucket.wait();
    }
  }
  at::NoGradGuard no_grad;
  const double world = state.group->world_size();
  for (auto& bucket : state.buckets) {
    if (!bucket.wait) continue;
    bucket.flat.div_(world);
    const auto count = static_cast<int64_t>(bucket.parameters.size());
    // Read only when this rank lacks a gradient: reading waits for the device.
    at::Tensor used_anywhere;
    if (!std::all_of(bucket.parameters.begin(), bucket.parameters.end(),
                     [&](std::size_t i) { return state.parameters[i].grad().defined(); })) {
      used_anywhere = bucket.flat.narrow(0, bucket.flat.numel() - count, count).gt(0).cpu();
    }
    int64_t offset = 0;
    for (int64_t k = 0; k < count; ++k) {
      at::Tensor& parameter = state.parameters[bucket.parameters[k]];
      const at::Tensor average = bucket.flat.narrow(0, offset, parameter.numel()).view_as(parameter);
      offset += parameter.numel();
      if (parameter.grad().defined()) {
        parameter.mutable_grad().copy_(average);
      } else if (used_anywhere[k].item<bool>()) {
        // Unused here but not on another rank: the average, as DDP with find_unused_parameters
        // gives, so that every rank's optimizer steps the parameter alike.
        parameter.mutable_grad() = average.clone();
      }
    }
    bucket.flat = at::Tensor();
  }
}

std::size_t GradientReducer::bucket_count() const { return state_->buckets.size(); }

std::size_t GradientReducer::buckets_started_in_backward() const { return state_->started_in_backward; }

}  // namespace lightning::detail
