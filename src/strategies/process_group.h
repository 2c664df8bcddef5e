#pragma once
// The c10d process group of a distributed run: a TCPStore rendezvous, then Gloo's or NCCL's
// collectives.

#include <lightning/core/collectives.h>

#include "strategies/gradient_reducer.h"

#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace c10d {
class Work;
}

namespace lightning::detail {

/// Where the ranks meet and how long they wait for each other.
struct Rendezvous {
  std::string master_addr = "127.0.0.1";
  /// 0 on the serving rank: the store picks a free port (see ProcessGroup::port).
  int port = 0;
  int rank = 0;
  int world_size = 1;
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  /// This rank serves the store (rank 0, unless torchrun's agent already does).
  bool serve_store = false;
  /// c10d's backend, "gloo" or "nccl", and this rank's device: NCCL's collectives take tensors on
  /// it (CPU tensors given to the collectives are copied there and back).
  std::string backend = "gloo";
  c10::Device device = c10::Device(c10::DeviceType::CPU);
};

/// One process's membership of the run's process group (every rank makes the same calls in
/// the same order). Built in two steps so that rank 0 can learn its store's port, start the other
/// ranks, and then wait for them.
class ProcessGroup final : public Collectives, public AsyncSum {
 public:
  /// Serves or reaches the rendezvous store. Throws MisconfigurationException LC0131 when the
  /// port cannot be served (in use) or the master cannot be reached within the timeout.
  explicit ProcessGroup(Rendezvous rendezvous);
  ~ProcessGroup() override;
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  /// The store's port (the one chosen, when the rendezvous asked for 0).
  int port() const;
  /// Forms the group: returns when every rank has joined (NCCL: when the ranks have met in the
  /// store; its communicators form at the first collective); LC0131 after the timeout.
  void join();

  int rank() const override { return rendezvous_.rank; }
  int world_size() const override { return rendezvous_.world_size; }
  void barrier() override;
  void all_reduce(at::Tensor& tensor, ReduceOp op) override;
  at::Tensor all_gather(const at::Tensor& tensor) override;
  void broadcast(at::Tensor& tensor, int root) override;
  std::function<void()> start_sum(at::Tensor tensor) override;

 private:
  struct Impl;
  /// Waits for collective `number`; a timeout becomes an error naming the ranks that never
  /// reached it.
  void await(const c10::intrusive_ptr<c10d::Work>& work, uint64_t number, const char* name) const;
  std::string explain_timeout(uint64_t number, const char* name, const std::string& message) const;
  Rendezvous rendezvous_;
  std::unique_ptr<Impl> impl_;
};

/// Copies rank 0's values into `tensors` on every rank (parameters and buffers at the start of fit).
void broadcast_from_rank_zero(Collectives& group, const std::vector<at::Tensor>& tensors);

/// Rank 0's `text` on every rank.
std::string broadcast_string(Collectives& group, const std::string& text);

/// "rank 1" or "ranks 0, 2".
std::string rank_list(const std::vector<int>& ranks);

/// Every rank's `text`, in rank order, on every rank.
std::vector<std::string> all_gather_strings(Collectives& group, const std::string& text);

}  // namespace lightning::detail
