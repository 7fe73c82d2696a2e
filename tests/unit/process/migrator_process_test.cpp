#include "process/migrator_process.hpp"

#include "process/signal_channel.hpp"
#include "../../support/process_state.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace migrate_init;
using namespace std::chrono_literals;

namespace {

struct Line {
  bool is_stderr;
  std::string text;
};

// A run of `/bin/sh -c script` that collects every line; TEST_PID names this process.
struct ShellRun {
  explicit ShellRun(const std::string& script) {
    run.argv = {"/bin/sh", "-c", script};
    run.environment = {"PATH=/usr/bin:/bin", "TEST_PID=" + std::to_string(getpid())};
    run.on_line = [this](bool is_stderr, std::string_view line) { lines.push_back({is_stderr, std::string(line)}); };
  }
  MigratorResult go() { return run_migrator(run); }

  MigratorRun run;
  std::vector<Line> lines;
};

// A fresh file name in the temporary directory, removed at the end of the test.
struct TempPath {
  TempPath() {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("migrator_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter));
  }
  ~TempPath() { std::filesystem::remove_all(path); }
  std::string str() const { return path.string(); }
  std::filesystem::path path;
};

std::vector<pid_t> read_pids(const TempPath& file) {
  std::ifstream in(file.path);
  std::vector<pid_t> pids;
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

// Gone: no such process, or a zombie nobody of ours has to reap (its new parent will).
bool gone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  const char state = test_support::process_state(pid);
  return state == '\0' || state == 'Z';
}

bool all_gone_within(const std::vector<pid_t>& pids, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (std::all_of(pids.begin(), pids.end(), gone)) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

long long elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

} // namespace

TEST_CASE("The migrator's exit code, both output streams and a last line without newline are reported") {
  ShellRun shell("echo out1; echo err1 >&2; echo out2; printf 'no newline'; exit 3");
  const MigratorResult result = shell.go();
  CHECK(result.exit_code == 3);
  CHECK(result.signal == 0);
  CHECK(result.pid > 0);
  CHECK(result.duration_ms >= 0);
  // Order is kept within a stream; across the two pipes it is the order they were read in.
  std::vector<std::string> out;
  std::vector<std::string> err;
  for (const Line& line : shell.lines) (line.is_stderr ? err : out).push_back(line.text);
  CHECK(out == std::vector<std::string>{"out1", "out2", "no newline"});
  CHECK(err == std::vector<std::string>{"err1"});
  std::vector<std::string> all;
  for (const Line& line : shell.lines) all.push_back(line.text);
  CHECK(result.last_lines == all);
}

TEST_CASE("The migrator gets exactly the given environment, /dev/null as stdin and its own process group") {
  setenv("MIGRATOR_TEST_LEAK", "from the test process", 1);
  ShellRun shell("echo \"A=$A\"; echo \"leak=${MIGRATOR_TEST_LEAK:-none}\"; readlink /proc/$$/fd/0; "
                 "echo \"pid=$$ pgid=$(cut -d' ' -f5 /proc/$$/stat)\"");
  shell.run.environment.push_back("A=1");
  const MigratorResult result = shell.go();
  unsetenv("MIGRATOR_TEST_LEAK");
  REQUIRE(shell.lines.size() == 4);
  CHECK(shell.lines[0].text == "A=1");
  CHECK(shell.lines[1].text == "leak=none");
  CHECK(shell.lines[2].text == "/dev/null");
  CHECK(shell.lines[3].text == "pid=" + std::to_string(result.pid) + " pgid=" + std::to_string(result.pid));
  CHECK(result.pid != getpgrp());
}

TEST_CASE("Only the last ten lines are kept") {
  ShellRun shell("i=1; while [ $i -le 25 ]; do echo line$i; i=$((i+1)); done");
  const MigratorResult result = shell.go();
  CHECK(shell.lines.size() == 25);
  REQUIRE(result.last_lines.size() == 10);
  CHECK(result.last_lines.front() == "line16");
  CHECK(result.last_lines.back() == "line25");
}

TEST_CASE("A megabyte on stderr and one on stdout, interleaved, are read without deadlock") {
  // 1024 lines of 1000 bytes on each stream, alternating: a reader of only one pipe would
  // leave the other full (64 KiB) and the child blocked forever.
  ShellRun shell("l=$(head -c 1000 /dev/zero | tr '\\0' x); i=0; "
                 "while [ $i -lt 1024 ]; do echo $l; echo $l >&2; i=$((i+1)); done");
  const auto started = std::chrono::steady_clock::now();
  const MigratorResult result = shell.go();
  CHECK(result.exit_code == 0);
  CHECK(elapsed_ms(started) < 60'000);
  const auto on_stderr = std::count_if(shell.lines.begin(), shell.lines.end(), [](const Line& l) { return l.is_stderr; });
  CHECK(on_stderr == 1024);
  CHECK(shell.lines.size() == 2048);
  CHECK(std::all_of(shell.lines.begin(), shell.lines.end(),
                    [](const Line& l) { return l.text == std::string(1000, 'x'); }));
}

TEST_CASE("A very long line is cut at the cap, at a UTF-8 boundary, and the next line is intact") {
  SUBCASE("plain bytes") {
    ShellRun shell("head -c 200000 /dev/zero | tr '\\0' x; echo; echo after");
    shell.go();
    REQUIRE(shell.lines.size() == 2);
    const std::string& cut = shell.lines[0].text;
    CHECK(cut.starts_with(std::string(k_migrator_line_cap, 'x') + " [line cut at 65536 bytes; "));
    CHECK(cut.find("134464 more not shown]") != std::string::npos);
    CHECK(cut.size() < k_migrator_line_cap + 100);
    CHECK(shell.lines[1].text == "after");
  }
  SUBCASE("a two-byte character across the cap is left out whole") {
    ShellRun shell("head -c 65535 /dev/zero | tr '\\0' a; printf '\\303\\251tail\\n'");
    shell.go();
    REQUIRE(shell.lines.size() == 1);
    CHECK(shell.lines[0].text == std::string(65535, 'a') + " [line cut at 65535 bytes; 6 more not shown]");
  }
  SUBCASE("a line of exactly the cap is not cut") {
    ShellRun shell("head -c 65536 /dev/zero | tr '\\0' a; echo");
    shell.go();
    REQUIRE(shell.lines.size() == 1);
    CHECK(shell.lines[0].text == std::string(65536, 'a'));
  }
}

TEST_CASE("A migrator killed by a signal is reported with the signal and 128+N") {
  ShellRun shell("echo before; kill -KILL $$");
  const MigratorResult result = shell.go();
  CHECK(result.signal == SIGKILL);
  CHECK(result.exit_code == 137);
  CHECK(result.last_lines == std::vector<std::string>{"before"});
}

TEST_CASE("What the migrator left running in its process group is killed when it exits") {
  TempPath pids;
  ShellRun shell("sleep 100 & echo $! > " + pids.str() + "; echo started");
  const auto started = std::chrono::steady_clock::now();
  const MigratorResult result = shell.go();
  CHECK(result.exit_code == 0);
  CHECK(elapsed_ms(started) < 10'000); // not the background sleep's 100 s
  const auto left = read_pids(pids);
  REQUIRE(left.size() == 1);
  CHECK(gone(left[0])); // already gone when run_migrator returns
}

TEST_CASE("A migrator that cannot be run is exit 127 when not found and 126 when not executable") {
  SUBCASE("not found in the migrator's PATH") {
    ShellRun shell("");
    shell.run.argv = {"no-such-migrator-anywhere"};
    try {
      shell.go();
      FAIL("no exception");
    } catch (const Error& error) {
      CHECK(error.code() == ExitCode::not_found);
      CHECK(std::string(error.what()).find("not found in PATH") != std::string::npos);
    }
  }
  SUBCASE("not executable") {
    TempPath script;
    std::ofstream(script.path) << "#!/bin/sh\necho hi\n";
    ShellRun shell("");
    shell.run.argv = {script.str()};
    try {
      shell.go();
      FAIL("no exception");
    } catch (const Error& error) {
      CHECK(error.code() == ExitCode::not_executable);
    }
  }
}

TEST_CASE("The migrator is searched in the PATH of its own environment, not migrate-init's") {
  TempPath directory;
  std::filesystem::create_directories(directory.path);
  const auto script = directory.path / "my-migrator";
  std::ofstream(script) << "#!/bin/sh\necho \"migrated $1\"\n";
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  ShellRun shell("");
  shell.run.argv = {"my-migrator", "head"};
  shell.run.environment = {"PATH=/nonexistent:" + directory.str() + ":/usr/bin:/bin"};
  const MigratorResult result = shell.go();
  CHECK(result.exit_code == 0);
  REQUIRE(shell.lines.size() == 1);
  CHECK(shell.lines[0].text == "migrated head");
}

TEST_CASE("Heartbeats come while the migrator runs") {
  ShellRun shell("sleep 1");
  shell.run.heartbeat = 200ms;
  std::vector<long long> beats;
  shell.run.on_heartbeat = [&](std::chrono::milliseconds elapsed) { beats.push_back(elapsed.count()); };
  const MigratorResult result = shell.go();
  CHECK(beats.size() >= 3);
  CHECK(static_cast<long long>(beats.size()) <= result.duration_ms / 200);
  REQUIRE(!beats.empty());
  CHECK(beats.front() >= 200);
  CHECK(std::is_sorted(beats.begin(), beats.end()));
}

TEST_CASE("A stop signal is forwarded to the migrator's group and interrupts the run") {
  signal_channel::take_over(); // idempotent; SIGTERM to this process is now only data
  TempPath pids;
  SUBCASE("a migrator that ignores SIGTERM is SIGKILLed after the grace period") {
    ShellRun shell("trap '' TERM; sleep 100 & echo $! >> " + pids.str() + "; echo $$ >> " + pids.str() +
                   "; kill -TERM $TEST_PID; wait");
    shell.run.grace = 500ms;
    const auto started = std::chrono::steady_clock::now();
    try {
      shell.go();
      FAIL("no exception");
    } catch (const Interrupted& interrupted) {
      CHECK(interrupted.signal_number() == SIGTERM);
      CHECK(to_int(interrupted.code()) == 143);
      CHECK(std::string(interrupted.what()) ==
            "interrupted by SIGTERM while running the migrator: it was killed by SIGKILL");
    }
    CHECK(elapsed_ms(started) >= 450);
    CHECK(elapsed_ms(started) < 5'000);
    const auto left = read_pids(pids);
    REQUIRE(left.size() == 2);
    CHECK(gone(left[0]));
    CHECK(gone(left[1]));
  }
  SUBCASE("a migrator that honours SIGTERM ends at once, with its grandchildren") {
    ShellRun shell("sleep 100 & echo $! >> " + pids.str() + "; kill -INT $TEST_PID; wait");
    shell.run.grace = 10s;
    const auto started = std::chrono::steady_clock::now();
    try {
      shell.go();
      FAIL("no exception");
    } catch (const Interrupted& interrupted) {
      CHECK(interrupted.signal_number() == SIGINT);
      CHECK(to_int(interrupted.code()) == 130);
      CHECK(std::string(interrupted.what()).find("while running the migrator") != std::string::npos);
    }
    CHECK(elapsed_ms(started) < 5'000);
    const auto left = read_pids(pids);
    REQUIRE(left.size() == 1);
    CHECK(gone(left[0]));
  }
  SUBCASE("a stop signal from a thread of migrate-init is forwarded too") {
    ShellRun shell("sleep 100");
    std::thread sender([] {
      std::this_thread::sleep_for(300ms);
      kill(getpid(), SIGTERM);
    });
    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(shell.go(), Interrupted);
    sender.join();
    CHECK(elapsed_ms(started) >= 250);
    CHECK(elapsed_ms(started) < 5'000);
  }
}

TEST_CASE("Other signals while the migrator runs are dropped, and it finishes") {
  signal_channel::take_over();
  ShellRun shell("kill -USR1 $TEST_PID; kill -HUP $TEST_PID; sleep 0.2; echo done");
  const MigratorResult result = shell.go();
  CHECK(result.exit_code == 0);
  CHECK(result.last_lines == std::vector<std::string>{"done"});
  CHECK(!signal_channel::read_pending());
}

TEST_CASE("After run_migrator returns, no child is left unreaped and no SIGCHLD is pending") {
  signal_channel::take_over();
  ShellRun shell("sleep 100 & sleep 0.1 & (sleep 100 &); exit 0");
  shell.go();
  // The supervisor's waitpid(-1) will find nothing of the migrator's, and the signal
  // channel holds no SIGCHLD that a later drain() would log.
  errno = 0;
  CHECK(waitpid(-1, nullptr, WNOHANG) == -1);
  CHECK(errno == ECHILD);
  sigset_t pending;
  sigpending(&pending);
  CHECK(!sigismember(&pending, SIGCHLD));
  CHECK(!signal_channel::read_pending());
}

TEST_CASE("When migrate-init is SIGKILLed, the migrator and its whole process group die within a second") {
  TempPath pids;
  const std::string script =
      "sleep 100 & echo $! >> " + pids.str() + "; sleep 100 & echo $! >> " + pids.str() + "; echo $$ >> " + pids.str() + "; wait";
  // As a subreaper, this process gets the orphaned keeper back and can check that it ends too.
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  const pid_t stand_in = fork(); // plays migrate-init
  REQUIRE(stand_in >= 0);
  if (stand_in == 0) {
    try {
      ShellRun shell(script);
      shell.go();
    } catch (...) {
    }
    _exit(0);
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (read_pids(pids).size() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  const auto group = read_pids(pids);
  REQUIRE(group.size() == 3);
  CHECK(kill(stand_in, SIGKILL) == 0);
  CHECK(waitpid(stand_in, nullptr, 0) == stand_in);
  CHECK(all_gone_within(group, 1s));
  for (const pid_t pid : group) kill(pid, SIGKILL); // in case the test failed: leave nothing behind
  // The keeper, having killed the group, exits as well.
  bool keeper_ended = false;
  for (int tries = 0; tries < 200 && !keeper_ended; ++tries) {
    const pid_t reaped = waitpid(-1, nullptr, WNOHANG);
    keeper_ended = reaped < 0 && errno == ECHILD;
    if (reaped == 0) std::this_thread::sleep_for(10ms);
  }
  CHECK(keeper_ended);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST_CASE("A callback that throws still leaves no migrator, no group and no child behind") {
  signal_channel::take_over();
  TempPath pids;
  ShellRun shell("sleep 100 & echo $! > " + pids.str() + "; echo hello; wait");
  shell.run.on_line = [](bool, std::string_view) { throw std::runtime_error("the log is gone"); };
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(shell.go(), "the log is gone", std::runtime_error);
  CHECK(elapsed_ms(started) < 5'000);
  const auto left = read_pids(pids);
  REQUIRE(left.size() == 1);
  CHECK(gone(left[0]));
  errno = 0;
  CHECK(waitpid(-1, nullptr, WNOHANG) == -1);
  CHECK(errno == ECHILD);
  CHECK(!signal_channel::read_pending());
}
