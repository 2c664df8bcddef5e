#pragma once
// SIGTERM (a scheduler's preemption) and SIGINT (Ctrl-C) during fit: the handlers only note the
// signal; the fit loop stops at the next batch boundary, so callbacks can save a checkpoint and
// loggers can finish. A second SIGINT ends the process as usual. Under SLURM, SIGUSR1 (what
// `sbatch --signal=USR1@90` sends before the time limit) is noted too, as Lightning's SLURM
// environment does, so that the program can save and requeue the job.

namespace lightning::detail {

/// While alive, SIGTERM and SIGINT are noted instead of ending the process; the previous handlers
/// come back when it is destroyed.
class SignalConnector {
 public:
  /// `requeue_signal`: note SIGUSR1 as well (a SLURM batch job).
  explicit SignalConnector(bool requeue_signal = false);
  ~SignalConnector();
  SignalConnector(const SignalConnector&) = delete;
  SignalConnector& operator=(const SignalConnector&) = delete;

  /// The signal received since the connector was made, or 0.
  static int received();

 private:
  bool requeue_signal_;
};

}  // namespace lightning::detail
