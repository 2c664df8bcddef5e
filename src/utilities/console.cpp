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

namespace {
std::mutex warnings_mutex;
std::set<std::string, std::less<>> warnings_seen;
}  // namespace

void warn_once(std::string_view text) {
  std::lock_guard lock(warnings_mutex);
  if (!warnings_seen.emplace(text).second) return;
  info(text);
}

void forget_warnings() {
  std::lock_guard lock(warnings_mutex);
  warnings_seen.clear();
}

}  // namespace lightning::console
