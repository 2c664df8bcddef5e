// The test support itself, where a mistake would hide failures: the crash report and TempDir.

#include "support/support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <fstream>

namespace lightning::testing {
namespace {

using ::testing::HasSubstr;

TEST(CrashReport, ACrashingTestNamesItselfAndDiesOfItsSignal) {
  std::array<int, 2> pipe_ends{};
  ASSERT_EQ(::pipe(pipe_ends.data()), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(pipe_ends[1], STDERR_FILENO);
    std::raise(SIGSEGV);
    ::_exit(0);  // not reached
  }
  ::close(pipe_ends[1]);
  std::string report;
  std::array<char, 4096> buffer{};
  for (ssize_t n; (n = ::read(pipe_ends[0], buffer.data(), buffer.size())) > 0;) report.append(buffer.data(), n);
  ::close(pipe_ends[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited with " << status;
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
  EXPECT_THAT(report, HasSubstr("*** fatal signal Segmentation fault in CrashReport.ACrashingTestNamesItselfAndDiesOfItsSignal; backtrace:\n"));
  EXPECT_THAT(report, HasSubstr("core_tests(")) << "frames of this binary";
}

TEST(TempDir, RemovesItsFilesAndFoldersButNotWhatALinkPointsTo) {
  TempDir outside;
  std::ofstream(outside / "kept.txt") << "kept";
  std::filesystem::path removed;
  {
    TempDir dir;
    removed = dir.path();
    std::filesystem::create_directories(dir.path() / "a/b");
    std::ofstream(dir / "a/b/file.txt") << "x";
    std::ofstream(dir / "top.txt") << "y";
    std::filesystem::create_directory_symlink(outside.path(), dir.path() / "link");
  }
  EXPECT_FALSE(std::filesystem::exists(removed));
  EXPECT_EQ(files_in(outside.path()), std::vector<std::string>{"kept.txt"});
}

}  // namespace
}  // namespace lightning::testing
