#pragma once
// What the processes of a distributed run can do together, as modules and callbacks see it.

#include <ATen/core/Tensor.h>

namespace lightning {

/// How all_reduce combines the ranks' values.
enum class ReduceOp { kSum, kMean, kMax, kMin };

/// The process group of a distributed run (the DDP strategy implements it over c10d). Every rank
/// must make the same calls in the same order, as with torch.distributed.
class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// Returns when every rank has called it.
  virtual void barrier() = 0;
  /// Replaces `tensor` (a CPU tensor of the same shape on every rank) with the ranks' combination.
  virtual void all_reduce(at::Tensor& tensor, ReduceOp op) = 0;
  /// Every rank's `tensor`, stacked along a new first dimension in rank order.
  virtual at::Tensor all_gather(const at::Tensor& tensor) = 0;
  /// Replaces `tensor` on every rank with rank `root`'s.
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
};

}  // namespace lightning
