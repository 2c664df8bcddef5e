#include "trainer/connectors/signal_connector.h"

#include <atomic>
#include <csignal>

namespace lightning::detail {
namespace {

std::atomic<int> received_signal{0};
struct sigaction previous_term, previous_int, previous_usr1;

extern "C" void note_signal(int signal) {
  int expected = 0;
  if (!received_signal.compare_exchange_strong(expected, signal)) {
    // A second signal while the first is being handled: do what the user asked at once.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

}  // namespace

SignalConnector::SignalConnector(bool requeue_signal) : requeue_signal_(requeue_signal) {
  received_signal = 0;
  struct sigaction action {};
  action.sa_handler = note_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, &previous_term);
  sigaction(SIGINT, &action, &previous_int);
  if (requeue_signal_) sigaction(SIGUSR1, &action, &previous_usr1);
}

SignalConnector::~SignalConnector() {
  sigaction(SIGTERM, &previous_term, nullptr);
  sigaction(SIGINT, &previous_int, nullptr);
  if (requeue_signal_) sigaction(SIGUSR1, &previous_usr1, nullptr);
}

int SignalConnector::received() { return received_signal.load(std::memory_order_relaxed); }

}  // namespace lightning::detail
