#include "strategies/launcher.h"

#include <fmt/format.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace lightning::detail {

namespace {

/// This program's arguments, argv[0] included, as the kernel recorded them.
std::vector<std::string> command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\0') {
      args.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return args;
}

bool is_rank_variable(std::string_view entry) {
  for (std::string_view name : {"LOCAL_RANK=", "RANK=", "WORLD_SIZE=", "LOCAL_WORLD_SIZE=", "NODE_RANK=",
                                "GROUP_RANK=", "MASTER_ADDR=", "MASTER_PORT="}) {
    if (entry.starts_with(name)) return true;
  }
  return false;
}

std::string describe(int rank, int pid, int status) {
  if (WIFSIGNALED(status)) {
    return fmt::format("rank {} (pid {}) was killed by signal {} ({})", rank, pid, WTERMSIG(status),
                       ::strsignal(WTERMSIG(status)));
  }
  return fmt::format("rank {} (pid {}) exited with status {}", rank, pid, WEXITSTATUS(status));
}

bool failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

}  // namespace

SubprocessLauncher& SubprocessLauncher::instance() {
  static SubprocessLauncher launcher;
  return launcher;
}

void SubprocessLauncher::launch(int world_size, int port) {
  if (launched()) return;
  const auto args = command_line();
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> inherited;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!is_rank_variable(*entry)) inherited.emplace_back(*entry);
  }
  const pid_t parent = ::getpid();
  for (int rank = 1; rank < world_size; ++rank) {
    // Everything the child needs is built before fork: between fork and exec only system calls.
    std::vector<std::string> variables = inherited;
    for (const auto& [name, value] :
         {std::pair<const char*, std::string>{"LOCAL_RANK", std::to_string(rank)}, {"RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world_size)}, {"LOCAL_WORLD_SIZE", std::to_string(world_size)},
          {"NODE_RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", std::to_string(port)}}) {
      variables.push_back(fmt::format("{}={}", name, value));
    }
    std::vector<char*> envp;
    for (auto& variable : variables) envp.push_back(variable.data());
    envp.push_back(nullptr);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a child never outlives rank 0
      if (::getppid() != parent) ::_exit(1);
      ::execve("/proc/self/exe", argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid < 0) {
      terminate();
      throw std::runtime_error(fmt::format("cannot start rank {} of {}: {}", rank, world_size, std::strerror(errno)));
    }
    children_.push_back({rank, pid, std::nullopt});
  }
  // When rank 0's program ends, it waits for the others, and fails if one did.
  std::atexit([] {
    if (!instance().wait_all()) {
      std::fflush(nullptr);
      std::_Exit(1);
    }
  });
}

void SubprocessLauncher::reap(Child& child, bool block) {
  if (child.status) return;
  int status = 0;
  if (::waitpid(child.pid, &status, block ? 0 : WNOHANG) == child.pid) child.status = status;
}

std::optional<std::string> SubprocessLauncher::failed_rank() {
  // A peer's closed connection can be seen a moment before its process has ended.
  for (int attempt = 0; attempt < 20; ++attempt) {
    for (auto& child : children_) {
      reap(child, /*block=*/false);
      if (child.status && failed(*child.status)) {
        child.reported = true;
        return describe(child.rank, child.pid, *child.status);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

void SubprocessLauncher::terminate() {
  for (auto& child : children_) {
    reap(child, /*block=*/false);
    if (!child.status) {
      ::kill(child.pid, SIGKILL);
      child.terminated = true;
    }
  }
  for (auto& child : children_) reap(child, /*block=*/true);
}

void SubprocessLauncher::dismiss() {
  terminate();
  for (auto& child : children_) child.terminated = true;
}

bool SubprocessLauncher::wait_all() {
  bool all_succeeded = true;
  for (auto& child : children_) {
    reap(child, /*block=*/true);
    const bool own_failure = child.status && failed(*child.status) && !child.terminated;
    if (own_failure && !child.reported) {
      std::fprintf(stderr, "lightning-cpp: %s\n", describe(child.rank, child.pid, *child.status).c_str());
    }
    all_succeeded = all_succeeded && !own_failure;
  }
  return all_succeeded;
}

}  // namespace lightning::detail
