#include "strategies/ddp.h"

#include "strategies/launcher.h"

#include <ATen/ATen.h>

#include <memory>

namespace lightning::detail {

ProcessGroup& join_process_group(const Rendezvous& rendezvous, bool launch_others) {
  static std::unique_ptr<ProcessGroup> group;
  if (group) return *group;
  auto joining = std::make_unique<ProcessGroup>(rendezvous);
  if (launch_others) SubprocessLauncher::instance().launch(rendezvous.world_size, joining->port());
  try {
    joining->join();
  } catch (...) {
    stop_started_ranks();
    throw;
  }
  group = std::move(joining);
  return *group;
}

void distribute(DataLoader& loader, Collectives& group) {
  std::shared_ptr<const Sampler> base = loader.shared_sampler();
  if (dynamic_cast<const DistributedSampler*>(base.get()) != nullptr) return;  // the user's own
  if (const auto* random = dynamic_cast<const RandomSampler*>(base.get())) {
    at::Tensor seed = at::tensor({static_cast<int64_t>(random->seed())}, at::kLong);
    group.broadcast(seed, 0);
    base = std::make_shared<RandomSampler>(static_cast<uint64_t>(seed.item<int64_t>()));
  }
  loader.set_sampler(std::make_shared<DistributedSampler>(std::move(base), group.rank(), group.world_size()));
}

std::optional<std::string> stop_started_ranks() {
  auto& launcher = SubprocessLauncher::instance();
  if (!launcher.launched()) return std::nullopt;
  auto failed = launcher.failed_rank();
  launcher.terminate();
  return failed;
}

void dismiss_started_ranks() {
  auto& launcher = SubprocessLauncher::instance();
  if (launcher.launched()) launcher.dismiss();
}

}  // namespace lightning::detail
