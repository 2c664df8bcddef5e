#pragma once
// Averages the gradients of a distributed run while backward still runs, as PyTorch's DDP Reducer
// does: a bucket's allreduce starts as soon as backward has produced its last gradient, so the
// communication of the layers near the output overlaps the backward of the layers near the input.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace torch::autograd {
struct Node;
}

namespace lightning::detail {

/// What the reducer needs of a process group: a sum over the ranks that runs while the caller
/// goes on (the ProcessGroup's allreduce; tests give a fake).
class AsyncSum {
 public:
  virtual ~AsyncSum() = default;
  virtual int world_size() const = 0;
  /// Starts replacing `tensor` with its sum over the ranks; the returned function waits for it.
  /// Every rank starts the same sums in the same order.
  virtual std::function<void()> start_sum(at::Tensor tensor) = 0;
};

/// PyTorch's bucket sizes: the first bucket (the last layers, whose gradients come first) small so
/// that communication starts early, the others up to `bucket_bytes`.
inline constexpr int64_t kFirstBucketBytes = 1 << 20;

/// `tensors`, in their order, cut into buckets of one dtype and device and at most
/// `first_bucket_bytes` (the first) or `bucket_bytes` (the others) each: the indices of each
/// bucket's tensors. A larger tensor gets a bucket of its own.
std::vector<std::vector<std::size_t>> bucket_indices(const std::vector<at::Tensor>& tensors, int64_t first_bucket_bytes,
                                                     int64_t bucket_bytes);

/// The gradients of one module's parameters, averaged over the ranks after the backwards it is
/// armed for. The parameters are placed in buckets of one dtype and device, in reverse order
/// (gradients arrive from the output backwards), those not requiring a gradient last. A hook on
/// each parameter's gradient accumulator marks it ready; a bucket whose parameters are all ready
/// starts its allreduce, buckets in order so that every rank issues the same collectives.
///
/// Parameters that get no gradient in a backward hold back their bucket (and those after it)
/// until finish(). A parameter without a gradient on this rank adds zeros; it gets the average if
/// another rank gave it a gradient and stays without one if no rank did, as with DDP's
/// find_unused_parameters, so that ranks whose steps use different parameters stay equal.
/// Parameters frozen when the reducer is made are summed only in a backward where some rank has a
/// gradient for them (decided together by one small sum per backward).
class GradientReducer {
 public:
  GradientReducer(AsyncSum& group, const std::vector<at::Tensor>& parameters, int64_t bucket_bytes);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// The next backward's gradients are averaged (the end of an accumulation window, every
  /// manual_backward); backwards without it leave the gradients alone (DDP's no_sync).
  void prepare_for_backward();
  /// After that backward: starts the buckets still waiting, waits for every bucket and writes the
  /// averages into the gradients.
  void finish();

  std::size_t bucket_count() const;
  /// Buckets whose allreduce started during the last finished backward (the rest at finish()).
  std::size_t buckets_started_in_backward() const;

 private:
  struct State;
  friend class ReadyHook;
  // Shared with the hooks, which live on the accumulators and may outlive the reducer.
  std::shared_ptr<State> state_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
};

}  // namespace lightning::detail
