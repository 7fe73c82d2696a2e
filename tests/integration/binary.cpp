#include "binary.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace test {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string make_temp_dir(const char* prefix) {
  std::string pattern = std::string("/tmp/") + prefix + "-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("test harness: mkdtemp failed");
  return pattern;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

} // namespace

std::string binary_path() { return MIGRATE_INIT_BINARY; }
std::filesystem::path example_migrations() { return std::filesystem::path(MIGRATE_INIT_SOURCE_DIR) / "migrations"; }

Running::Running(const Invocation& invocation, bool as_pid1)
    : m_as_pid1(as_pid1), m_dir(make_temp_dir("migrate-init-run")) {
  std::ofstream(m_dir + "/stdin") << invocation.stdin_text;
  const std::string binary = invocation.binary.empty() ? binary_path() : invocation.binary.string();
  std::vector<std::string> argv{binary};
  if (as_pid1) argv = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", binary};
  argv.insert(argv.begin(), invocation.wrapper.begin(), invocation.wrapper.end());
  argv.insert(argv.end(), invocation.args.begin(), invocation.args.end());
  std::vector<std::string> envp{"PATH=" + std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin")};
  for (const auto& [name, value] : invocation.env) envp.push_back(name + "=" + value);
  envp.insert(envp.end(), invocation.raw_env.begin(), invocation.raw_env.end());

  std::vector<char*> raw_argv, raw_envp;
  for (auto& arg : argv) raw_argv.push_back(arg.data());
  for (auto& var : envp) raw_envp.push_back(var.data());
  raw_argv.push_back(nullptr);
  raw_envp.push_back(nullptr);
  const std::string in = m_dir + "/stdin", out = m_dir + "/stdout", err = m_dir + "/stderr";
  const std::string cwd = invocation.cwd.string();

  int closed_pipe[2] = {-1, -1};
  if (invocation.closed_output) {
    if (pipe(closed_pipe) != 0) throw std::runtime_error("test harness: pipe failed");
    close(closed_pipe[0]); // no reader, ever
  }
  m_started = std::chrono::steady_clock::now();
  m_pid = fork();
  if (m_pid < 0) throw std::runtime_error("test harness: fork failed");
  if (m_pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    dup2(open(in.c_str(), O_RDONLY), 0);
    if (invocation.closed_output) {
      dup2(closed_pipe[1], 1);
      dup2(closed_pipe[1], 2);
    } else {
      dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
      dup2(open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
    }
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(120);
    execve(raw_argv[0], raw_argv.data(), raw_envp.data());
    _exit(121);
  }
  if (closed_pipe[1] >= 0) close(closed_pipe[1]);
}

Running::Running(Running&& other) noexcept
    : m_pid(other.m_pid), m_as_pid1(other.m_as_pid1), m_dir(std::move(other.m_dir)), m_started(other.m_started) {
  other.m_pid = -1;
  other.m_dir.clear();
}

Running::~Running() {
  if (m_pid > 0) {
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
  }
  if (!m_dir.empty()) std::filesystem::remove_all(m_dir);
}

pid_t Running::pid() const {
  if (!m_as_pid1) return m_pid;
  // unshare --fork's only child is migrate-init, PID 1 inside the namespace.
  for (int attempt = 0; attempt < 2000; ++attempt) {
    std::ifstream children("/proc/" + std::to_string(m_pid) + "/task/" + std::to_string(m_pid) + "/children");
    pid_t child = 0;
    if (children >> child && child > 0) return child;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("unshare started no child");
  return -1;
}

void Running::signal(int number) const { kill(pid(), number); }

std::string Running::output() const { return read_all(m_dir + "/stdout"); }

namespace {

bool wait_for_file_to_contain(const std::string& path, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (read_all(path).find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

} // namespace

bool Running::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) const {
  return wait_for_file_to_contain(m_dir + "/stdout", needle, timeout);
}

bool Running::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout) const {
  return wait_for_file_to_contain(m_dir + "/stderr", needle, timeout);
}

Outcome Running::wait(std::chrono::seconds timeout) {
  Outcome outcome;
  const auto deadline = m_started + timeout;
  int status = 0;
  while (waitpid(m_pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(m_pid, SIGKILL);
      waitpid(m_pid, &status, 0);
      m_pid = -1;
      FAIL("migrate-init did not exit within " << timeout.count() << " s; stderr:\n" << read_all(m_dir + "/stderr"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  m_pid = -1;
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - m_started);
  outcome.exit_code = decode_status(status);
  outcome.out = read_all(m_dir + "/stdout");
  outcome.err = read_all(m_dir + "/stderr");
  return outcome;
}

std::optional<Outcome> Running::wait_for_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(m_pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  m_pid = -1;
  Outcome outcome;
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - m_started);
  outcome.exit_code = decode_status(status);
  outcome.out = read_all(m_dir + "/stdout");
  outcome.err = read_all(m_dir + "/stderr");
  return outcome;
}

Outcome run(const Invocation& invocation, std::chrono::seconds timeout) {
  Running running(invocation);
  return running.wait(timeout);
}

Outcome run_as_pid1(const Invocation& invocation, std::chrono::seconds timeout) {
  Running running(invocation, true);
  return running.wait(timeout);
}

TempDir::TempDir() : m_path(make_temp_dir("migrate-init-test")) {}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(m_path, ignored);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& contents) const {
  const auto path = m_path / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t found = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) {
    ++found;
  }
  return found;
}

} // namespace test
