#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// Something that must keep holding while the migrator runs (the migration lock's session,
// pg/session_watch.hpp). Its descriptor is polled together with the migrator's pipes, and
// check() is called when the descriptor is ready and at next_check(): once it says why
// it no longer holds, the migrator and everything it started are killed at once.
class RunGuard {
public:
  virtual ~RunGuard() = default;
  virtual int fd() const = 0;
  virtual short events() const = 0; // for poll
  virtual std::chrono::steady_clock::time_point next_check() const = 0;
  // nullopt while it holds; else why not, in a few words ("the server ended the session").
  virtual std::optional<std::string> check() = 0;
};

// What to run as the project's own migrator (command mode) and how to watch it.
struct MigratorRun {
  std::vector<std::string> argv;           // argv[0] is searched in `environment`'s PATH when it has no '/'
  std::vector<std::string> environment;    // the complete "NAME=value" list the migrator gets
  std::chrono::milliseconds grace{10'000}; // after a forwarded SIGTERM/SIGINT, SIGKILL its group this long later
  std::chrono::milliseconds heartbeat{30'000}; // on_heartbeat period while it runs; 0: none
  std::function<void(bool is_stderr, std::string_view line)> on_line;  // each output line, without '\n'
  std::function<void(std::chrono::milliseconds elapsed)> on_heartbeat; // every `heartbeat` while it runs
  RunGuard* guard = nullptr; // none when null
  // A descriptor kept open until every descendant of the migrator is gone, even when
  // migrate-init is SIGKILLed (the lock's socket: the server keeps the lock until then); -1: none.
  int hold_until_gone = -1;
};

// How the migrator ended.
struct MigratorResult {
  int exit_code = 0;                   // 0..255; 128+N when signal N killed it (shell convention)
  int signal = 0;                      // the signal that killed it, 0 when it exited
  std::vector<std::string> last_lines; // its last output lines (stdout and stderr, in arrival order)
  long long duration_ms = 0;
  pid_t pid = 0;
  // Why the guard stopped the run ("" when it did not): the migrator was killed for it,
  // so its exit code says nothing.
  std::string guard_failure;
};

// Output lines longer than this are cut here (at a UTF-8 boundary) and end in a marker that
// says how many bytes were dropped; the rest of such a line is read and discarded.
inline constexpr std::size_t k_migrator_line_cap = 64 * 1024;
// How many lines MigratorResult::last_lines keeps.
inline constexpr std::size_t k_migrator_last_lines = 10;

// Runs the migrator to its end and returns how it ended. It runs in its own process group,
// with stdin on /dev/null and stdout/stderr on two pipes read line by line. A small keeper
// process (a fork of migrate-init that never execs) sits between migrate-init and the
// migrator: it is the migrator's parent and subreaper, and when the migrator exits, or
// when migrate-init dies (even by SIGKILL), it SIGKILLs every descendant of the migrator
// that is left, in its process group or not (a worker started with setsid), and reaps it
// (a process still running after a migrator that exited on its own is logged as a
// warning). So when this returns, nothing the migrator started runs, and no
// child of migrate-init is left unreaped (it waits for the keeper by its pid, never with
// waitpid(-1), and consumes the SIGCHLD that the keeper's exit queues on the signal channel).
// A stop signal (SIGTERM/SIGINT, read from the signal channel) is forwarded to the group;
// if the migrator has not exited `grace` later, the group gets SIGKILL; once it is gone,
// Interrupted is thrown ("interrupted by SIGTERM while running the migrator: ..."). Other
// signals are logged and dropped, as signal_channel::drain does. An exec failure throws
// Error: 127 not found, 126 not executable.
MigratorResult run_migrator(const MigratorRun& run);

} // namespace migrate_init
