#pragma once

#include <string>

namespace migrate_init {

// Which signals migrate-init blocks and reads itself: every signal a process can catch,
// except the synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT),
// which must keep killing a faulting migrate-init, and glibc's two internal real-time ones.
bool is_handled_signal(int signal_number);

// Which handled signals are passed on to the service when supervising: all of them but
// SIGCHLD (it is about migrate-init's own children) and SIGTTIN/SIGTTOU (job control
// aimed at migrate-init itself; tini ignores them too). SIGTSTP is forwarded, as tini does.
bool is_forwarded_signal(int signal_number);

// SIGTERM and SIGINT: the signals that stop a migration in progress.
bool is_stop_signal(int signal_number);

// "SIGTERM", "SIGRTMIN+3", or "signal 99".
std::string signal_name(int signal_number);

// The shell's exit code for a wait status: the exit code, or 128+N when killed by signal N.
int exit_code_from_wait_status(int wait_status);

} // namespace migrate_init
