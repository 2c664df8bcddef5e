#pragma once

#include <cstdint>
#include <optional>

namespace lightning {

/// Seeds everything that draws random numbers: LibTorch's CPU (and CUDA) generators and the
/// default shuffling order of every DataLoader created afterwards. Returns the seed.
///
///   pl::seed_everything(42);
uint64_t seed_everything(uint64_t seed);

/// The seed given to the last `seed_everything`, if any.
std::optional<uint64_t> global_seed();

}  // namespace lightning
