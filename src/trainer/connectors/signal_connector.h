#pragma once
// SIGTERM (a scheduler's preemption) and SIGINT (Ctrl-C) during fit: the handlers only note the
// signal; the fit loop stops at the next batch boundary, so callbacks can save a checkpoint and
// loggers can finish. A second SIGINT ends the process as usual.

namespace lightning::detail {

/// While alive, SIGTERM and SIGINT are noted instead of ending the process; the previous handlers
/// come back when it is destroyed.
class SignalConnector {
 public:
  SignalConnector();
  ~SignalConnector();
  SignalConnector(const SignalConnector&) = delete;
  SignalConnector& operator=(const SignalConnector&) = delete;

  /// The signal received since the connector was made, or 0.
  static int received();
};

}  // namespace lightning::detail
