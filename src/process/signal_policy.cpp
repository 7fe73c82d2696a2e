#include "process/signal_policy.hpp"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

namespace migrate_init {

bool is_handled_signal(int signal_number) {
  switch (signal_number) {
  case SIGKILL: case SIGSTOP:                                            // cannot be caught
  case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP:     // synchronous faults
  case SIGSYS: case SIGABRT:
    return false;
  default:
    break;
  }
  if (signal_number < 1 || signal_number > SIGRTMAX) return false;
  // Between the classic signals and SIGRTMIN sit glibc's private ones (32, 33).
  return signal_number < 32 || signal_number >= SIGRTMIN;
}

bool is_forwarded_signal(int signal_number) {
  return is_handled_signal(signal_number) && signal_number != SIGCHLD && signal_number != SIGTTIN &&
         signal_number != SIGTTOU;
}

bool is_stop_signal(int signal_number) { return signal_number == SIGTERM || signal_number == SIGINT; }

std::string signal_name(int signal_number) {
  if (signal_number >= SIGRTMIN && signal_number <= SIGRTMAX) {
    return signal_number == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(signal_number - SIGRTMIN);
  }
  if (const char* abbreviation = sigabbrev_np(signal_number)) return std::string("SIG") + abbreviation;
  return "signal " + std::to_string(signal_number);
}

int exit_code_from_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

} // namespace migrate_init
