#include "process/migrator_keeper.hpp"

#include "process/protection.hpp"
#include "process/signal_channel.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace migrate_init::keeper {
namespace {

// migrate-init -> keeper: "send the signal in si_value to the migrator's group" (sigqueue).
// A real-time signal: each one sent is queued, where a second SIGUSR1 sent while the first
// is pending would be dropped (a SIGKILL after a forwarded SIGTERM, lost).
int forward_request() { return SIGRTMIN + 2; }
// What the kernel sends the keeper when migrate-init dies. Only a wake-up: the keeper
// checks getppid() itself, so a stray SIGUSR2 from elsewhere changes nothing.
constexpr int k_parent_died = SIGUSR2;
// The descriptor the keeper and the migrator write their messages to (close-on-exec).
constexpr int k_message_fd = 3;
// Where the keeper keeps Plan::hold (close-on-exec: the migrator never has it).
constexpr int k_hold_fd = 4;
// How many children one look at /proc lists; more are found at the next look.
constexpr int k_max_children = 256;
// The keeper's (or the not yet exec'd migrator's) exit code when it cannot set up; it sends
// no message then, and migrate-init reports a keeper that ended without reporting.
constexpr int k_keeper_failed = 125;

// --- Up to spawn(): in the keeper and the migrator, after fork. Async-signal-safe calls only. ---

void send_message(MessageKind kind, int value) {
  const Message message{kind, value};
  while (write(k_message_fd, &message, sizeof message) < 0 && errno == EINTR) {
  }
}

// Puts /dev/null, the two output pipes, the message pipe and the held descriptor on 0, 1,
// 2, 3 and 4 (the last two close-on-exec) and closes everything else migrate-init had
// open (its database socket, the signalfd): the keeper never execs, so close-on-exec would
// not do it.
void arrange_descriptors(const Plan& plan) {
  const int devnull = fcntl(plan.devnull, F_DUPFD, 10);
  const int out = fcntl(plan.out, F_DUPFD, 10);
  const int err = fcntl(plan.err, F_DUPFD, 10);
  const int messages = fcntl(plan.messages, F_DUPFD, 10);
  const int hold = plan.hold >= 0 ? fcntl(plan.hold, F_DUPFD, 10) : -1;
  if (devnull < 0 || out < 0 || err < 0 || messages < 0 || (plan.hold >= 0 && hold < 0)) _exit(k_keeper_failed);
  if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || dup2(messages, k_message_fd) < 0) {
    _exit(k_keeper_failed);
  }
  fcntl(k_message_fd, F_SETFD, FD_CLOEXEC);
  int first_closed = k_message_fd + 1;
  if (hold >= 0) {
    if (dup2(hold, k_hold_fd) < 0) _exit(k_keeper_failed);
    fcntl(k_hold_fd, F_SETFD, FD_CLOEXEC);
    first_closed = k_hold_fd + 1;
  }
  if (close_range(static_cast<unsigned>(first_closed), ~0U, 0) != 0) {
    for (int fd = first_closed; fd < 65536; ++fd) close(fd);
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
    if (info.si_signo == forward_request() && info.si_code == SI_QUEUE && info.si_pid == parent) {
      signal_group(migrator, info.si_value.sival_int);
    }
  }
}

// Writes the decimal digits of `value` at `out`; returns the end. Async-signal-safe.
char* put_decimal(char* out, long value) {
  char digits[24];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (count > 0) *out++ = digits[--count];
  return out;
}

// The whole of a small file into `buffer` (NUL-terminated); its length, or -1.
ssize_t read_small_file(const char* path, char* buffer, std::size_t size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::size_t length = 0;
  for (;;) {
    const ssize_t got = read(fd, buffer + length, size - 1 - length);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    length += static_cast<std::size_t>(got);
    if (length == size - 1) break;
  }
  close(fd);
  buffer[length] = '\0';
  return static_cast<ssize_t>(length);
}

// The pids in a space-separated list, into `pids` (at most `room`); how many.
int parse_pids(const char* text, pid_t* pids, int room) {
  int count = 0;
  long value = -1;
  for (const char* at = text;; ++at) {
    if (*at >= '0' && *at <= '9') {
      value = (value < 0 ? 0 : value * 10) + (*at - '0');
    } else {
      if (value > 0 && count < room) pids[count++] = static_cast<pid_t>(value);
      value = -1;
      if (*at == '\0') return count;
    }
  }
}

// The parent pid in the text of /proc/<pid>/stat ("pid (comm) state ppid ..."), or -1.
long parent_in_stat(const char* stat) {
  const char* close = nullptr;
  for (const char* at = stat; *at; ++at) {
    if (*at == ')') close = at; // comm may itself hold ')': the last one ends it
  }
  if (!close || close[1] != ' ' || close[2] == '\0' || close[3] != ' ') return -1;
  long parent = 0;
  for (const char* at = close + 4; *at >= '0' && *at <= '9'; ++at) parent = parent * 10 + (*at - '0');
  return parent;
}

// The keeper's children by a walk of every /proc/<pid>/stat: for kernels without
// /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN). -1 when /proc cannot be read.
int children_by_scan(pid_t keeper, pid_t* pids, int room) {
  const int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  int count = 0;
  alignas(8) char entries[4096];
  for (;;) {
    const ssize_t got = getdents64(dir, entries, sizeof entries);
    if (got <= 0) break;
    for (ssize_t offset = 0; offset < got;) {
      const auto* entry = reinterpret_cast<const dirent64*>(entries + offset);
      offset += entry->d_reclen;
      long pid = 0;
      const char* name = entry->d_name;
      for (; *name >= '0' && *name <= '9'; ++name) pid = pid * 10 + (*name - '0');
      if (*name != '\0' || pid <= 0) continue;
      char path[48] = "/proc/";
      char* end = put_decimal(path + 6, pid);
      const char suffix[] = "/stat";
      for (std::size_t i = 0; i < sizeof suffix; ++i) end[i] = suffix[i];
      char stat[1024];
      if (read_small_file(path, stat, sizeof stat) > 0 && parent_in_stat(stat) == keeper && count < room) {
        pids[count++] = static_cast<pid_t>(pid);
      }
    }
  }
  close(dir);
  return count;
}

// The keeper's children now, zombies included: as the subreaper, every orphan of the
// migrator's tree is one. -1 when /proc cannot tell. Async-signal-safe.
int list_children(pid_t keeper, pid_t* pids, int room) {
  char path[64] = "/proc/self/task/";
  char* end = put_decimal(path + 16, keeper);
  const char suffix[] = "/children";
  for (std::size_t i = 0; i < sizeof suffix; ++i) end[i] = suffix[i];
  char text[4096];
  if (read_small_file(path, text, sizeof text) >= 0) return parse_pids(text, pids, room);
  return children_by_scan(keeper, pids, room);
}

// The migrator has exited: kills everything it left, in its group or not, reaps it all,
// reports. Each kill makes the killed process's own children the keeper's (it is their
// subreaper), so the walk goes on until the keeper has no child left: then nothing the
// migrator started runs.
void finish(pid_t migrator) {
  kill(-migrator, SIGKILL); // while the migrator is an unreaped zombie, its group id cannot be reused
  int status = 0;
  while (waitpid(migrator, &status, 0) < 0 && errno == EINTR) {
  }
  // A member that this SIGKILL (or the one after the grace period) ended was still
  // running: a leftover. One that had exited already, or died of a forwarded SIGTERM, was
  // not.
  int left_over = 0;
  const pid_t keeper = getpid();
  pid_t children[k_max_children];
  for (;;) {
    const int count = list_children(keeper, children, k_max_children);
    for (int i = 0; i < count; ++i) {
      // An unreaped child's pid, and the group it leads, cannot be reused.
      if (getpgid(children[i]) == children[i]) kill(-children[i], SIGKILL);
      kill(children[i], SIGKILL);
    }
    // One child reaped per round (without /proc: waited for, as nothing can find it).
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED) != 0) {
      if (errno == EINTR) continue;
      break; // ECHILD: no descendant is left
    }
    if (info.si_code == CLD_KILLED && info.si_status == SIGKILL) ++left_over;
  }
  if (left_over > 0) send_message(MessageKind::group_left_over, left_over);
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
  sigqueue(keeper, forward_request(), value);
}

} // namespace migrate_init::keeper
