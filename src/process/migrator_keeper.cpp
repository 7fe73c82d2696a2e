#include "process/migrator_keeper.hpp"

#include "process/protection.hpp"
#include "process/signal_channel.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace migrate_init::keeper {
namespace {

// migrate-init -> keeper: "send the signal in si_value to the migrator's group" (sigqueue).
constexpr int k_forward_request = SIGUSR1;
// What the kernel sends the keeper when migrate-init dies. Only a wake-up: the keeper
// checks getppid() itself, so a stray SIGUSR2 from elsewhere changes nothing.
constexpr int k_parent_died = SIGUSR2;
// The descriptor the keeper and the migrator write their messages to (close-on-exec).
constexpr int k_message_fd = 3;
// The keeper's (or the not yet exec'd migrator's) exit code when it cannot set up; it sends
// no message then, and migrate-init reports a keeper that ended without reporting.
constexpr int k_keeper_failed = 125;

// --- Up to spawn(): in the keeper and the migrator, after fork. Async-signal-safe calls only. ---

void send_message(MessageKind kind, int value) {
  const Message message{kind, value};
  while (write(k_message_fd, &message, sizeof message) < 0 && errno == EINTR) {
  }
}

// Puts /dev/null, the two output pipes and the message pipe on 0, 1, 2 and 3 (the last
// close-on-exec) and closes everything else migrate-init had open (its database socket,
// the signalfd): the keeper never execs, so close-on-exec would not do it.
void arrange_descriptors(const Plan& plan) {
  const int devnull = fcntl(plan.devnull, F_DUPFD, 10);
  const int out = fcntl(plan.out, F_DUPFD, 10);
  const int err = fcntl(plan.err, F_DUPFD, 10);
  const int messages = fcntl(plan.messages, F_DUPFD, 10);
  if (devnull < 0 || out < 0 || err < 0 || messages < 0) _exit(k_keeper_failed);
  if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || dup2(messages, k_message_fd) < 0) {
    _exit(k_keeper_failed);
  }
  fcntl(k_message_fd, F_SETFD, FD_CLOEXEC);
  if (close_range(k_message_fd + 1, ~0U, 0) != 0) {
    for (int fd = k_message_fd + 1; fd < 65536; ++fd) close(fd);
  }
}

[[noreturn]] void become_migrator(const Plan& plan, pid_t keeper, const sigset_t& mask_at_fork) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != keeper) _exit(k_keeper_failed); // the keeper is already gone
  sigprocmask(SIG_SETMASK, &mask_at_fork, nullptr);
  signal_channel::restore_original_mask();
  restore_core_limit();
  // Like execvp, but in the migrator's own PATH: remember EACCES, keep looking past
  // missing entries, stop at any other error.
  int error = ENOENT;
  for (const char* const* path = plan.candidates; *path; ++path) {
    execve(*path, plan.argv, plan.envp);
    if (errno == EACCES) {
      error = EACCES;
    } else if (errno != ENOENT && errno != ENOTDIR) {
      error = errno;
      break;
    }
  }
  send_message(MessageKind::exec_failed, error);
  _exit(error == ENOENT || error == ENOTDIR ? 127 : 126);
}

// Sends `signal_number` to the migrator's group, and to the migrator itself if it left it.
void signal_group(pid_t migrator, int signal_number) {
  if (kill(-migrator, signal_number) != 0 || getpgid(migrator) != migrator) kill(migrator, signal_number);
}

// Reaps orphans re-parented to the keeper (it is their subreaper); true once the migrator
// has exited, which it leaves unreaped (a zombie keeps its pid and group id from reuse).
bool migrator_exited(pid_t migrator) {
  for (;;) {
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno != EINTR;
    if (info.si_pid == 0) return false;
    if (info.si_pid == migrator) return true;
    waitpid(info.si_pid, nullptr, 0);
  }
}

// Waits for the migrator's exit, forwarding the signals migrate-init asks for and
// SIGKILLing the group if migrate-init dies.
void watch(pid_t migrator, pid_t parent, const sigset_t& all) {
  bool parent_gone = false;
  while (!migrator_exited(migrator)) {
    if (!parent_gone && getppid() != parent) {
      parent_gone = true;
      signal_group(migrator, SIGKILL);
    }
    siginfo_t info{};
    if (sigwaitinfo(&all, &info) < 0) continue;
    if (info.si_signo == k_forward_request && info.si_code == SI_QUEUE && info.si_pid == parent) {
      signal_group(migrator, info.si_value.sival_int);
    }
  }
}

// The migrator has exited: kills what is left of its group, reaps it all, reports.
void finish(pid_t migrator) {
  kill(-migrator, SIGKILL); // while the migrator is an unreaped zombie, its group id cannot be reused
  int status = 0;
  while (waitpid(migrator, &status, 0) < 0 && errno == EINTR) {
  }
  // Every member got SIGKILL, and as their subreaper the keeper collects them; a member
  // exists (alive or a zombie) exactly as long as its group id does. One that this SIGKILL
  // (or the one after the grace period) ended was still running: a leftover. One that had
  // exited already, or died of a forwarded SIGTERM, was not.
  bool left_over = false;
  while (kill(-migrator, 0) == 0) {
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED) != 0) {
      if (errno == EINTR) continue;
      break; // ECHILD: what is left is not ours to reap
    }
    if (info.si_code == CLD_KILLED && info.si_status == SIGKILL) left_over = true;
  }
  if (left_over) send_message(MessageKind::group_left_over, 1);
  send_message(MessageKind::ended, status);
}

// The keeper: a fork of migrate-init that never execs. It outlives a SIGKILLed
// migrate-init (PR_SET_PDEATHSIG wakes it; that fires when the forking *thread* ends,
// hence the getppid() checks) long enough to kill the migrator's whole group.
[[noreturn]] void run_keeper(const Plan& plan) {
  sigset_t all;
  sigfillset(&all);
  sigset_t mask_at_fork;
  sigprocmask(SIG_BLOCK, &all, &mask_at_fork);
  prctl(PR_SET_PDEATHSIG, k_parent_died);
  if (getppid() != plan.parent) _exit(k_keeper_failed);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  arrange_descriptors(plan);
  const pid_t keeper = getpid();
  const pid_t migrator = fork();
  if (migrator < 0) _exit(k_keeper_failed);
  if (migrator == 0) become_migrator(plan, keeper, mask_at_fork);
  setpgid(migrator, migrator); // also here, so the group exists before any signal to it
  close(0);
  close(1);
  close(2);
  send_message(MessageKind::started, migrator);
  watch(migrator, plan.parent, all);
  finish(migrator);
  _exit(0);
}

} // namespace

pid_t spawn(const Plan& plan) {
  const pid_t keeper = fork();
  if (keeper == 0) run_keeper(plan);
  return keeper;
}

void forward_signal(pid_t keeper, int signal_number) {
  sigval value{};
  value.sival_int = signal_number;
  sigqueue(keeper, k_forward_request, value);
}

} // namespace migrate_init::keeper
