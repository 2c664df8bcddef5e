#include <lightning/utilities/console.h>

#include <unistd.h>

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

namespace {
std::mutex output_mutex;
std::string status_line;  ///< the status line on the terminal, "" when none

void erase_status_locked() {
  if (!status_line.empty()) std::fputs("\r\x1b[K", stderr);
}
void draw_status_locked() {
  if (!status_line.empty()) std::fprintf(stderr, "\r%s\x1b[K", status_line.c_str());
  std::fflush(stderr);
}

std::mutex warnings_mutex;
std::set<std::string, std::less<>> warnings_seen;
}  // namespace

bool interactive() {
  static const bool is_terminal = ::isatty(::fileno(stderr)) == 1;
  return is_terminal;
}

void info(std::string_view line) {
  if (global_rank() != 0) return;
  std::lock_guard lock(output_mutex);
  erase_status_locked();
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  draw_status_locked();
}

void status(std::string_view line) {
  if (global_rank() != 0 || !interactive()) return;
  std::lock_guard lock(output_mutex);
  status_line = line;
  draw_status_locked();
}

void end_status() {
  std::lock_guard lock(output_mutex);
  if (status_line.empty()) return;
  std::fputs("\n", stderr);
  status_line.clear();
}

void clear_status() {
  std::lock_guard lock(output_mutex);
  erase_status_locked();
  std::fflush(stderr);
  status_line.clear();
}

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
