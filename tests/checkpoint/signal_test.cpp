// A real SIGTERM, sent from another process, to a process in the middle of fit.

#include "support/support.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace lightning {
namespace {

/// Polls `done` every 10 ms for up to `seconds`.
template <class F>
bool wait_for(F&& done, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(Signals, SigtermFromAnotherProcessEndsFitCleanlyWithACheckpoint) {
  testing::TempDir dir;
  const std::string output = dir / "output.txt";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string folder = dir.path().string();
  char* args[] = {const_cast<char*>(LIGHTNING_SIGTERM_CHILD), const_cast<char*>(folder.c_str()), nullptr};
  pid_t child = 0;
  ASSERT_EQ(posix_spawn(&child, LIGHTNING_SIGTERM_CHILD, &actions, nullptr, args, environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  int status = 0;
  auto exited = [&] { return ::waitpid(child, &status, WNOHANG) == child; };
  const bool started = wait_for([&] { return std::filesystem::exists(dir / "started"); }, 60);
  if (started) ::kill(child, SIGTERM);
  const bool finished = wait_for(exited, 60);
  if (!finished) {  // never leave a process behind
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  ASSERT_TRUE(started) << "the child never trained";
  ASSERT_TRUE(finished) << "the child did not stop within 60 s of SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "fit returned normally after the signal";

  std::ifstream in(output);
  std::string word;
  int signal = 0;
  long long steps = 0;
  in >> word >> signal >> steps;
  EXPECT_EQ(word, "interrupted");
  EXPECT_EQ(signal, SIGTERM);
  EXPECT_GE(steps, 1);
  EXPECT_EQ(load_checkpoint_file(dir / "on_exception.ckpt").at("global_step").toInt(), steps)
      << "the checkpoint holds the last whole batch";
}

}  // namespace
}  // namespace lightning
