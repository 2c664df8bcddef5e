#pragma once
// Data-parallel training over c10d (Lightning's DDPStrategy): the process group of the run, each
// loader's share of the data, and what a failed rank becomes.

#include <lightning/core/collectives.h>
#include <lightning/data/dataloader.h>

#include "strategies/process_group.h"

#include <exception>
#include <optional>
#include <string>

namespace lightning::detail {

/// The run's process group, joined once per process and kept for every later stage and Trainer
/// of the program. With `launch_others` (rank 0 of a one-machine run), ranks 1..N-1 are started
/// first, as copies of this program. Throws MisconfigurationException LC0131 when the rendezvous
/// fails.
ProcessGroup& join_process_group(const Rendezvous& rendezvous, bool launch_others);

/// Gives `loader` this rank's share of its samples (a DistributedSampler around its sampler); a
/// shuffling loader takes rank 0's seed, so that every rank cuts the same order.
void distribute(DataLoader& loader, Collectives& group);

/// After a failure on this rank: ends the ranks this process started, and says which of them
/// failed first (nullopt when none did, or when another launcher started the run).
std::optional<std::string> stop_started_ranks();

/// After a misconfiguration, which every rank finds alike: ends the ranks this process started
/// without counting their failures (rank 0's exit status stays its own).
void dismiss_started_ranks();

}  // namespace lightning::detail
