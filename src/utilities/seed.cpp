#include <lightning/utilities/seed.h>

#include <ATen/Context.h>

#include <atomic>

namespace lightning {
namespace {
std::atomic<bool> seeded{false};
std::atomic<uint64_t> last_seed{0};
}  // namespace

uint64_t seed_everything(uint64_t seed) {
  at::manual_seed(seed);  // CPU, and every CUDA device when there is one
  last_seed = seed;
  seeded = true;
  return seed;
}

std::optional<uint64_t> global_seed() {
  if (!seeded) return std::nullopt;
  return last_seed.load();
}

}  // namespace lightning
