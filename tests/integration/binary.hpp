#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace test {

// How to start the built migrate-init binary. The environment is exactly PATH plus `env`,
// so nothing from the developer's shell (DATABASE_URL, PG*) leaks in.
struct Invocation {
  Invocation(std::vector<std::string> args_, std::map<std::string, std::string> env_ = {}, std::string stdin_text_ = {},
             std::filesystem::path cwd_ = {})
      : args(std::move(args_)), env(std::move(env_)), stdin_text(std::move(stdin_text_)), cwd(std::move(cwd_)) {}

  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string stdin_text;
  std::filesystem::path cwd; // empty: inherit
  // stdout and stderr go to a pipe whose reader is already gone (`... 2>&1 | head -0`):
  // every write fails with EPIPE. Outcome::out and err are then empty.
  bool closed_output = false;
  // Put before the binary on the command line (setpriv, prlimit, ...).
  std::vector<std::string> wrapper;
  // Another copy of migrate-init to run (empty: the built one), e.g. one that a wrapper's
  // other user can reach when the checkout's directories are private to root.
  std::filesystem::path binary;
  // Environment entries added as written, after `env`: the same name may come twice.
  std::vector<std::string> raw_env;
};

struct Outcome {
  int exit_code = -1; // the exit status, or 128+N when killed by signal N
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

// A started migrate-init process; its output goes to files until wait() collects it.
class Running {
public:
  // With `as_pid1`, migrate-init runs as PID 1 of a new PID namespace, under
  // `unshare --pid --fork --mount-proc`, as in a container.
  explicit Running(const Invocation& invocation, bool as_pid1 = false);
  ~Running();
  Running(Running&&) noexcept;
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

  // Waits for the exit, at most `timeout` (then SIGKILLs and fails the test).
  Outcome wait(std::chrono::seconds timeout = std::chrono::seconds(60));
  // Waits for the exit, at most `timeout` from now; nothing (and the process left running)
  // if it has not exited by then.
  std::optional<Outcome> wait_for_exit(std::chrono::milliseconds timeout);
  // Sends a signal to migrate-init itself (inside the namespace when it is PID 1).
  void signal(int number) const;
  // migrate-init's pid as seen from the tests.
  pid_t pid() const;
  // Waits until stdout contains `needle`; false after `timeout`.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  std::string output() const;
  // Waits until stderr (the log) contains `needle`; false after `timeout`.
  bool wait_for_log(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

private:
  pid_t m_pid = -1;
  bool m_as_pid1 = false;
  std::string m_dir;
  std::chrono::steady_clock::time_point m_started;
};

// Runs migrate-init to completion.
Outcome run(const Invocation& invocation, std::chrono::seconds timeout = std::chrono::seconds(60));
// Runs migrate-init to completion as PID 1 of a new PID namespace.
Outcome run_as_pid1(const Invocation& invocation, std::chrono::seconds timeout = std::chrono::seconds(60));

// The migrate-init binary under test, and the repository's example migrations.
std::string binary_path();
std::filesystem::path example_migrations();

// A temporary directory, removed on destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  // Writes `contents` to path()/name (creating folders) and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& contents) const;

private:
  std::filesystem::path m_path;
};

// How many times `needle` occurs in `haystack`.
std::size_t count(const std::string& haystack, const std::string& needle);

} // namespace test
