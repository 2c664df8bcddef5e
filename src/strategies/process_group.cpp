#include "strategies/process_group.h"

#include <lightning/diagnostics/diagnostic.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef LIGHTNING_HAS_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

namespace lightning::detail {

// Gloo's and NCCL's process groups share a base: ProcessGroup in LibTorch 1.x, Backend in 2.x.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  /// The run's keys in the store, under a prefix of ours.
  c10::intrusive_ptr<c10d::Store> keys;
  c10::intrusive_ptr<BackendBase> backend;
  /// Collectives started so far: every rank numbers them alike.
  uint64_t collectives = 0;
  /// Where the backend takes tensors (NCCL: this rank's CUDA device).
  c10::Device device = c10::Device(c10::DeviceType::CPU);
#ifdef LIGHTNING_HAS_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;  // the backend, when it is NCCL's
#endif

  /// `tensor` where the backend takes it; after the collective, copy_back puts the result in `tensor`.
  at::Tensor on_device(const at::Tensor& tensor) const {
    return device.is_cpu() || tensor.device() == device ? tensor : tensor.to(device);
  }
  static void copy_back(at::Tensor& tensor, const at::Tensor& moved) {
    if (!moved.is_same(tensor)) tensor.copy_(moved);
  }
};

namespace {

std::string without_backtrace(const std::exception& error) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) return c10_error->what_without_backtrace();
  return error.what();
}

std::string seconds(std::chrono::milliseconds timeout) {
  return fmt::format("{:g} s", static_cast<double>(timeout.count()) / 1000.0);
}

[[noreturn]] void rendezvous_failed(std::string message, const Rendezvous& r, std::string received, std::string help) {
  throw MisconfigurationException({Diagnostic{
      .code = "LC0131",
      .message = std::move(message),
      .subject = {"environment variables MASTER_ADDR, MASTER_PORT"},
      .received = std::move(received),
      .expected = fmt::format("all {} ranks meeting at {}:{} within {}", r.world_size, r.master_addr, r.port,
                              seconds(r.timeout)),
      .help = std::move(help)}});
}

/// Gloo's transport: the interface GLOO_SOCKET_IFNAME names, loopback for a run on this machine,
/// else the address this machine's hostname resolves to (as torch.distributed does).
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  if (master_addr.starts_with("127.") || master_addr == "localhost") {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

/// How long a rank whose collective timed out waits for the others to say theirs did too.
constexpr std::chrono::seconds kTimeoutGrace{2};

bool timed_out(const std::string& message) {
  std::string lower = message;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("timed out") != std::string::npos || lower.find("timeout") != std::string::npos;
}

}  // namespace

ProcessGroup::ProcessGroup(Rendezvous rendezvous) : rendezvous_(std::move(rendezvous)), impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(rendezvous_.port);
  options.isServer = rendezvous_.serve_store;
  options.numWorkers = rendezvous_.world_size;
  options.waitWorkers = false;  // rank 0 starts the others only once it knows the port
  options.timeout = rendezvous_.timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(rendezvous_.master_addr, options);
  } catch (const std::exception& error) {
    if (rendezvous_.serve_store) {
      rendezvous_failed(fmt::format("rank 0 cannot serve the rendezvous at {}:{}: {}", rendezvous_.master_addr,
                                    rendezvous_.port, without_backtrace(error)),
                        rendezvous_, fmt::format("MASTER_PORT = {}", rendezvous_.port),
                        "choose a free port (MASTER_PORT, or torchrun's --master-port), or end the program that "
                        "holds it");
    }
    rendezvous_failed(fmt::format("rank {} cannot reach the rendezvous at {}:{}: {}", rendezvous_.rank,
                                  rendezvous_.master_addr, rendezvous_.port, without_backtrace(error)),
                      rendezvous_, fmt::format("MASTER_ADDR = {}, MASTER_PORT = {}", rendezvous_.master_addr, rendezvous_.port),
                      "start rank 0 first or together with the others, and check that this machine reaches "
                      "MASTER_ADDR:MASTER_PORT");
  }
}

ProcessGroup::~ProcessGroup() {
#if defined(LIGHTNING_HAS_NCCL) && (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))
  // A NCCL group destroyed without shutdown() or abort() is aborted by its destructor, which in
  // LibTorch 2.4+ first warns that Python's "destroy_process_group() was not called". Abort it
  // ourselves, as before but without the warning: shutdown() would wait for every NCCL kernel, and
  // after a rank died one may never finish.
  if (impl_->nccl) {
    try {
      impl_->nccl->abort();
    } catch (const std::exception&) {
      // The group ends either way; a destructor has no one to tell.
    }
  }
#endif
}

int ProcessGroup::port() const { return impl_->store->getPort(); }

namespace {

c10::intrusive_ptr<BackendBase> make_gloo(const c10::intrusive_ptr<c10d::Store>& store, const Rendezvous& r) {
  auto options = c10d::ProcessGroupGloo::Options::create(r.timeout);
  options->devices.push_back(gloo_device(r.master_addr));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, r.rank, r.world_size, options);
}

#ifdef LIGHTNING_HAS_NCCL
c10::intrusive_ptr<c10d::ProcessGroupNCCL> make_nccl(const c10::intrusive_ptr<c10d::Store>& store, const Rendezvous& r) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = r.timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, r.rank, r.world_size, options);
}
#endif

}  // namespace

void ProcessGroup::join() {
  // torchrun's agent keeps its own keys in the store it serves; ours live under a prefix.
  auto store = c10::make_intrusive<c10d::PrefixStore>("lightning-cpp", impl_->store);
  impl_->keys = store;
#ifndef LIGHTNING_HAS_NCCL
  if (rendezvous_.backend == "nccl") {  // resolve_devices rules it out (LC0132)
    throw std::logic_error("process_group_backend \"nccl\" reached a build without NCCL: this is a bug in lightning-cpp");
  }
#endif
  try {
#ifdef LIGHTNING_HAS_NCCL
    if (rendezvous_.backend == "nccl") {
      impl_->device = rendezvous_.device;
      impl_->nccl = make_nccl(store, rendezvous_);
      impl_->backend = impl_->nccl;
      barrier();  // NCCL meets the other ranks at its first collective
    }
#endif
    if (!impl_->backend) impl_->backend = make_gloo(store, rendezvous_);  // Gloo takes CPU and CUDA tensors alike
  } catch (const std::exception& error) {
    rendezvous_failed(fmt::format("the {} ranks did not all join the process group within {}: {}", rendezvous_.world_size,
                                  seconds(rendezvous_.timeout), without_backtrace(error)),
                      rendezvous_, fmt::format("rank {} waiting", rendezvous_.rank),
                      "every rank must reach fit (or validate, test, predict); check the other ranks' output");
  }
}

void ProcessGroup::await(const c10::intrusive_ptr<c10d::Work>& work, uint64_t number, const char* name) const {
  try {
    work->wait();
  } catch (const std::exception& error) {
    const std::string message = without_backtrace(error);
    if (!timed_out(message)) throw;
    throw std::runtime_error(explain_timeout(number, name, message));
  }
}

std::string ProcessGroup::explain_timeout(uint64_t number, const char* name, const std::string& message) const {
  // Every rank whose wait timed out says so in the store; the ranks that have not said so after a
  // grace period never reached the collective (or died). Nothing is written in a healthy run.
  const std::string prefix = fmt::format("timed_out/{}/", number);
  std::vector<int> missing;
  try {
    impl_->keys->set(prefix + std::to_string(rank()), std::vector<uint8_t>{1});
    const auto deadline = std::chrono::steady_clock::now() + kTimeoutGrace;
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      missing.clear();
      for (int r = 0; r < world_size(); ++r) {
        if (!impl_->keys->check({prefix + std::to_string(r)})) missing.push_back(r);
      }
    } while (!missing.empty() && std::chrono::steady_clock::now() < deadline);
  } catch (const std::exception&) {
    missing.clear();  // the store went away with rank 0: nothing more to learn
  }
  if (missing.empty()) {
    return fmt::format("collective #{} ({}) timed out after {}: {}", number, name, seconds(rendezvous_.timeout), message);
  }
  return fmt::format("{} did not reach collective #{} ({}) within the timeout of {} (hung, much slower than the "
                     "others, or died), so the run stopped: {}",
                     rank_list(missing), number, name, seconds(rendezvous_.timeout), message);
}

void ProcessGroup::barrier() {
  c10d::BarrierOptions options;
  if (impl_->device.is_cuda()) options.device_ids = {impl_->device.index()};
  await(impl_->backend->barrier(options), ++impl_->collectives, "barrier");
}

void ProcessGroup::all_reduce(at::Tensor& tensor, ReduceOp op) {
  c10d::AllreduceOptions options;
  options.reduceOp = op == ReduceOp::kMax   ? c10d::ReduceOp::MAX
                     : op == ReduceOp::kMin ? c10d::ReduceOp::MIN
                                            : c10d::ReduceOp::SUM;
  std::vector<at::Tensor> tensors{impl_->on_device(tensor)};
  await(impl_->backend->allreduce(tensors, options), ++impl_->collectives, "allreduce");
  Impl::copy_back(tensor, tensors[0]);
  if (op == ReduceOp::kMean) tensor.div_(rendezvous_.world_size);
}

at::Tensor ProcessGroup::all_gather(const at::Tensor& tensor) {
  std::vector<at::Tensor> inputs{impl_->on_device(tensor).contiguous()};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < rendezvous_.world_size; ++r) outputs[0].push_back(at::empty_like(inputs[0]));
  await(impl_->backend->allgather(outputs, inputs), ++impl_->collectives, "allgather");
  return at::stack(outputs[0]).to(tensor.device());
}

std::function<void()> ProcessGroup::start_sum(at::Tensor tensor) {
  // The reducer's buckets are on the parameters' device already.
  std::vector<at::Tensor> tensors{std::move(tensor)};
  auto work = impl_->backend->allreduce(tensors);
  return [this, work, number = ++impl_->collectives] { await(work, number, "allreduce of gradients"); };
}

void ProcessGroup::broadcast(at::Tensor& tensor, int root) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  std::vector<at::Tensor> tensors{impl_->on_device(tensor)};
  await(impl_->backend->broadcast(tensors, options), ++impl_->collectives, "broadcast");
  Impl::copy_back(tensor, tensors[0]);
}

namespace {
constexpr int64_t kBroadcastBucketBytes = 25 << 20;
}  // namespace

void broadcast_from_rank_zero(Collectives& group, const std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  for (const auto& indices : bucket_indices(tensors, kBroadcastBucketBytes, kBroadcastBucketBytes)) {
    std::vector<at::Tensor> bucket;
    for (const std::size_t i : indices) bucket.push_back(tensors[i]);
    at::Tensor flat = at::flatten_dense_tensors(bucket);
    group.broadcast(flat, 0);
    const auto values = at::unflatten_dense_tensors(flat, bucket);
    for (std::size_t i = 0; i < bucket.size(); ++i) bucket[i].copy_(values[i]);
  }
}

std::string broadcast_string(Collectives& group, const std::string& text) {
  at::Tensor length = at::tensor({static_cast<int64_t>(text.size())}, at::kLong);
  group.broadcast(length, 0);
  at::Tensor bytes = at::zeros({length.item<int64_t>()}, at::kByte);
  if (group.rank() == 0) std::copy(text.begin(), text.end(), bytes.data_ptr<uint8_t>());
  if (bytes.numel() > 0) group.broadcast(bytes, 0);
  const auto* data = bytes.data_ptr<uint8_t>();
  return std::string(data, data + bytes.numel());
}

std::string rank_list(const std::vector<int>& ranks) {
  return fmt::format("{} {}", ranks.size() == 1 ? "rank" : "ranks", fmt::join(ranks, ", "));
}

std::vector<std::string> all_gather_strings(Collectives& group, const std::string& text) {
  const at::Tensor lengths = group.all_gather(at::tensor({static_cast<int64_t>(text.size())}, at::kLong));
  // At least one byte: every rank sends a tensor, even when every text is empty.
  at::Tensor bytes = at::zeros({std::max<int64_t>(1, lengths.max().item<int64_t>())}, at::kByte);
  std::copy(text.begin(), text.end(), bytes.data_ptr<uint8_t>());
  const at::Tensor gathered = group.all_gather(bytes).contiguous();
  std::vector<std::string> texts;
  for (int64_t r = 0; r < gathered.size(0); ++r) {
    const auto* data = gathered[r].data_ptr<uint8_t>();
    texts.emplace_back(data, data + lengths[r].item<int64_t>());
  }
  return texts;
}

}  // namespace lightning::detail
