#pragma once
// lightning-cpp's own launcher (Lightning's subprocess script launcher): rank 0 starts ranks
// 1..N-1 as copies of the running program, with the variables that tell each its rank.

#include <optional>
#include <string>
#include <vector>

namespace lightning::detail {

/// Starts the other ranks of a one-machine run, once per process. Each child runs this program
/// with the same arguments and LOCAL_RANK, RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, NODE_RANK,
/// MASTER_ADDR and MASTER_PORT set, and dies with its parent (PR_SET_PDEATHSIG). At exit, rank 0
/// waits for the children; if one failed, the program exits with status 1.
class SubprocessLauncher {
 public:
  static SubprocessLauncher& instance();

  /// Starts ranks 1..world_size-1 meeting rank 0 at 127.0.0.1:port. Throws std::runtime_error
  /// when a process cannot be started.
  void launch(int world_size, int port);
  bool launched() const { return !children_.empty(); }
  /// The first child that has ended in failure, said in words ("rank 1 (pid 4242) was killed by
  /// signal 9 (Killed)"), or nullopt while all run or succeeded.
  std::optional<std::string> failed_rank();
  /// Ends every child still running (SIGKILL: they hold no files of the run's).
  void terminate();
  /// Ends every child still running, and counts none of their failures at exit: rank 0 failed for
  /// a reason every rank shares (a misconfiguration each finds alike).
  void dismiss();
  /// Waits for every child; a failure is printed. Returns whether all succeeded (those ended by
  /// terminate() do not count).
  bool wait_all();

 private:
  SubprocessLauncher() = default;
  struct Child {
    int rank;
    int pid;
    std::optional<int> status;  ///< waitpid's status once it ended
    bool terminated = false;    ///< ended by terminate(): not a failure of its own
    bool reported = false;      ///< its failure was already said by failed_rank()
  };
  void reap(Child& child, bool block);
  std::vector<Child> children_;
};

}  // namespace lightning::detail
