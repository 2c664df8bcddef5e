#include <lightning/utilities/console.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

namespace lightning::console {

int global_rank() {
  for (const char* name : {"RANK", "SLURM_PROCID"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return 0;
}

void info(std::string_view line) {
  if (global_rank() != 0) return;
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

void warn_once(std::string_view text) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> seen;
  std::lock_guard lock(mutex);
  if (!seen.emplace(text).second) return;
  info(text);
}

}  // namespace lightning::console
