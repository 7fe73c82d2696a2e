#pragma once

#include <sys/types.h>

// The keeper: a fork of migrate-init that never execs, sits between migrate-init and the
// migrator (its parent and subreaper), and SIGKILLs and reaps every descendant of the
// migrator that is left, in its process group or not (setsid), when the migrator exits or
// when migrate-init dies (even by SIGKILL). Only run_migrator (migrator_process.cpp) uses this; it does the parent side.
namespace migrate_init::keeper {

// Everything the keeper and the migrator need, prepared before fork: after it they may
// not allocate. The descriptors are migrate-init's ends for the child; it closes its own
// copies once spawn() returns.
struct Plan {
  pid_t parent = 0;                        // migrate-init's pid, to notice when it dies
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* const* candidates = nullptr; // the paths to try execve on, null-terminated
  int devnull = -1;                        // the migrator's stdin
  int out = -1;                            // the write ends of its stdout and stderr pipes
  int err = -1;
  int messages = -1;                       // the write end of the message pipe
  // A descriptor the keeper keeps open, and never reads or writes, until every descendant
  // of the migrator is gone (-1: none): the migration lock's socket, so that when
  // migrate-init is SIGKILLed the server keeps the lock until nothing it guarded runs.
  int hold = -1;
};

// What the keeper and the migrator tell migrate-init on the message pipe, one write of a
// Message each (atomic on a pipe). End of file on it means the keeper has exited.
enum class MessageKind : int {
  started = 1,     // value: the migrator's pid
  exec_failed,     // value: the errno of the failed execve (the migrator sends it)
  group_left_over, // value: how many descendants still running were killed after the migrator exited
  ended,           // value: the migrator's wait status; every descendant is gone
};
struct Message {
  MessageKind kind;
  int value;
};

// Forks the keeper, which starts the migrator as `plan` says. Returns, in migrate-init
// only, the keeper's pid, or -1 with errno set (as fork does). The caller reaps it by pid.
pid_t spawn(const Plan& plan);

// Asks the keeper to send `signal_number` to the migrator's group: only the keeper knows
// that the migrator is not yet reaped, so its pid and group id cannot have been reused.
void forward_signal(pid_t keeper, int signal_number);

} // namespace migrate_init::keeper
