#include "process/migrator_process.hpp"

#include "process/exec.hpp"
#include "process/migrator_keeper.hpp"
#include "process/signal_channel.hpp"
#include "process/signal_policy.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>
#include <utility>

namespace migrate_init {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

// A descriptor closed on destruction.
class Fd {
public:
  explicit Fd(int fd = -1) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset();
    m_fd = std::exchange(other.m_fd, -1);
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return m_fd; }
  void reset() {
    if (m_fd >= 0) close(m_fd);
    m_fd = -1;
  }

private:
  int m_fd;
};

struct Pipe {
  Fd read;
  Fd write;
};

Pipe make_pipe(bool nonblocking_read) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  Pipe result{Fd(fds[0]), Fd(fds[1])};
  if (nonblocking_read) fcntl(fds[0], F_SETFL, O_NONBLOCK);
  return result;
}

// The length of `text` without a multibyte UTF-8 sequence that a cut left incomplete.
std::size_t complete_utf8_length(std::string_view text) {
  std::size_t start = text.size();
  std::size_t continuation = 0;
  while (start > 0 && continuation < 3 && (static_cast<unsigned char>(text[start - 1]) & 0xC0) == 0x80) {
    --start;
    ++continuation;
  }
  if (start == 0) return text.size();
  const auto lead = static_cast<unsigned char>(text[start - 1]);
  const std::size_t needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return needed > 1 && continuation + 1 < needed ? start - 1 : text.size();
}

// Splits one stream into lines; a line over k_migrator_line_cap bytes is cut there and
// the rest of it dropped, so memory stays bounded whatever the migrator prints.
class LineSplitter {
public:
  explicit LineSplitter(std::function<void(std::string_view)> emit) : m_emit(std::move(emit)) {}

  void feed(std::string_view data) {
    while (!data.empty()) {
      const std::size_t newline = data.find('\n');
      const std::string_view piece = data.substr(0, newline);
      const std::size_t room = k_migrator_line_cap - m_line.size();
      m_line.append(piece.substr(0, room));
      m_dropped += piece.size() - std::min(room, piece.size());
      if (newline == std::string_view::npos) return;
      deliver();
      data.remove_prefix(newline + 1);
    }
  }

  // Delivers a last line that had no '\n'.
  void finish() {
    if (!m_line.empty() || m_dropped > 0) deliver();
  }

private:
  void deliver() {
    if (m_dropped > 0) {
      const std::size_t kept = complete_utf8_length(m_line);
      m_dropped += m_line.size() - kept;
      m_line.resize(kept);
      m_line += " [line cut at " + std::to_string(kept) + " bytes; " + std::to_string(m_dropped) + " more not shown]";
    }
    m_emit(m_line);
    m_line.clear();
    m_dropped = 0;
  }

  std::function<void(std::string_view)> m_emit;
  std::string m_line;
  std::size_t m_dropped = 0;
};

// The argv, environment and execve candidates as the C arrays the child uses.
struct PreparedCommand {
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<std::string> candidate_paths;
  std::vector<const char*> candidates;
};

// The PATH value in `environment` (the first one, as getenv sees it), or glibc's default.
std::string path_of(const std::vector<std::string>& environment) {
  for (const auto& entry : environment) {
    if (entry.starts_with("PATH=")) return entry.substr(5);
  }
  return "/bin:/usr/bin";
}

PreparedCommand prepare(const MigratorRun& run) {
  if (run.argv.empty() || run.argv[0].empty()) throw std::invalid_argument("run_migrator: empty command");
  PreparedCommand command;
  for (const auto& arg : run.argv) command.argv.push_back(const_cast<char*>(arg.c_str()));
  command.argv.push_back(nullptr);
  for (const auto& entry : run.environment) command.envp.push_back(const_cast<char*>(entry.c_str()));
  command.envp.push_back(nullptr);
  const std::string& program = run.argv[0];
  if (program.find('/') != std::string::npos) {
    command.candidate_paths.push_back(program);
  } else {
    const std::string path = path_of(run.environment);
    for (std::size_t begin = 0;;) {
      const std::size_t end = std::min(path.find(':', begin), path.size());
      const std::string directory = path.substr(begin, end - begin);
      command.candidate_paths.push_back((directory.empty() ? "." : directory) + "/" + program);
      if (end == path.size()) break;
      begin = end + 1;
    }
  }
  for (const auto& candidate : command.candidate_paths) command.candidates.push_back(candidate.c_str());
  command.candidates.push_back(nullptr);
  return command;
}

// One run, seen from migrate-init: the keeper's pid, the three pipes, the timers.
class MigratorSession {
public:
  MigratorSession(const MigratorRun& run, pid_t keeper, Fd out, Fd err, Fd messages)
      : m_run(run), m_keeper(keeper), m_out(std::move(out)), m_err(std::move(err)), m_messages(std::move(messages)),
        m_out_lines([this](std::string_view line) { on_line(false, line); }),
        m_err_lines([this](std::string_view line) { on_line(true, line); }) {}

  MigratorSession(const MigratorSession&) = delete;
  MigratorSession& operator=(const MigratorSession&) = delete;

  // On an exception (a callback threw): the group is killed and the keeper reaped anyway.
  ~MigratorSession() {
    if (m_keeper <= 0) return;
    request(SIGKILL);
    while (waitpid(m_keeper, nullptr, 0) < 0 && errno == EINTR) {
    }
    // Takes the keeper's SIGCHLD off the signal channel, and only that: a stop signal
    // pending there stays for the caller.
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    const timespec now{0, 0};
    sigtimedwait(&child, nullptr, &now);
  }

  MigratorResult run() {
    while (m_messages.get() >= 0) step();
    reap_keeper();
    drain_output();
    consume_pending_signals();
    return result();
  }

private:
  void step() {
    const bool guarded = m_run.guard && m_guard_failure.empty();
    std::array<pollfd, 5> fds{{{m_out.get(), POLLIN, 0},
                               {m_err.get(), POLLIN, 0},
                               {m_messages.get(), POLLIN, 0},
                               {signal_channel::fd(), POLLIN, 0},
                               {guarded ? m_run.guard->fd() : -1, guarded ? m_run.guard->events() : short{0}, 0}}};
    const int ready = poll(fds.data(), fds.size(), timeout_ms());
    if (ready < 0 && errno != EINTR) throw_errno("poll");
    if (fds[0].revents != 0) read_output(m_out, m_out_lines);
    if (fds[1].revents != 0) read_output(m_err, m_err_lines);
    if (fds[2].revents != 0) read_messages();
    if (fds[3].revents != 0) read_signals();
    if (guarded && (fds[4].revents != 0 || Clock::now() >= m_run.guard->next_check())) check_guard();
    run_timers();
  }

  // The guard no longer holds: nothing the migrator started may go on.
  void check_guard() {
    auto failure = m_run.guard->check();
    if (!failure) return;
    m_guard_failure = *failure;
    spdlog::error("{}: killing the migrator and everything it started", m_guard_failure);
    request(SIGKILL);
  }

  int timeout_ms() const {
    std::optional<Clock::time_point> next = m_kill_deadline;
    const auto earlier = [&next](Clock::time_point at) {
      if (!next || at < *next) next = at;
    };
    if (m_next_heartbeat) earlier(*m_next_heartbeat);
    if (m_run.guard && m_guard_failure.empty()) earlier(m_run.guard->next_check());
    if (!next) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
  }

  void run_timers() {
    const auto now = Clock::now();
    if (m_kill_deadline && now >= *m_kill_deadline) {
      spdlog::warn("the migrator did not exit within {} ms of {}; sending SIGKILL to its process group",
                   m_run.grace.count(), signal_name(*m_interrupted_by));
      request(SIGKILL);
      m_kill_deadline.reset();
    }
    if (m_next_heartbeat && now >= *m_next_heartbeat) {
      if (m_run.on_heartbeat) m_run.on_heartbeat(std::chrono::duration_cast<std::chrono::milliseconds>(now - m_start));
      while (*m_next_heartbeat <= now) *m_next_heartbeat += m_run.heartbeat;
    }
  }

  // Reads what is there now; at end of file the stream's last unterminated line is delivered.
  // At most 16 buffers a call: a migrator that writes without pause must not keep the loop
  // from the guard and the signals (the pipe is read again on the next step).
  void read_output(Fd& fd, LineSplitter& lines) {
    for (int reads = 0; reads < 16; ++reads) {
      const ssize_t got = read(fd.get(), m_buffer.data(), m_buffer.size());
      if (got > 0) {
        lines.feed(std::string_view(m_buffer.data(), static_cast<std::size_t>(got)));
        if (static_cast<std::size_t>(got) < m_buffer.size()) return;
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) return;
      lines.finish();
      fd.reset();
      return;
    }
  }

  void read_messages() {
    keeper::Message message{};
    const ssize_t got = read(m_messages.get(), &message, sizeof message);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (got != static_cast<ssize_t>(sizeof message)) {
      m_messages.reset(); // end of file: the keeper has exited
      return;
    }
    switch (message.kind) {
    case keeper::MessageKind::started: m_pid = message.value; break;
    case keeper::MessageKind::exec_failed: m_exec_error = message.value; break;
    case keeper::MessageKind::group_left_over: m_left_over = message.value; break;
    case keeper::MessageKind::ended: m_wait_status = message.value; break;
    }
  }

  void read_signals() {
    while (const auto signal_number = signal_channel::read_pending()) handle_signal(*signal_number);
  }

  void handle_signal(int signal_number) {
    if (signal_number == SIGCHLD) return; // the keeper's end shows as end of file on its pipe
    if (!is_stop_signal(signal_number)) {
      spdlog::warn("ignoring {} received while running the migrator (it is not passed on to the service)",
                   signal_name(signal_number));
      return;
    }
    if (!m_interrupted_by) {
      m_interrupted_by = signal_number;
      m_kill_deadline = Clock::now() + m_run.grace;
    }
    request(signal_number);
  }

  // Signals the migrator's group through the keeper, never directly: see forward_signal.
  void request(int signal_number) const { keeper::forward_signal(m_keeper, signal_number); }

  void reap_keeper() {
    int status = 0;
    while (waitpid(m_keeper, &status, 0) < 0 && errno == EINTR) {
    }
    m_keeper = 0;
    m_duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - m_start);
    if (!m_wait_status && !m_exec_error) {
      throw std::runtime_error("the migrator's keeper process ended without reporting (exit code " +
                               std::to_string(exit_code_from_wait_status(status)) + ")");
    }
  }

  // The group is gone; what it wrote is in the pipes. A process that left the group
  // (setsid) may hold them open: it is not waited for.
  void drain_output() {
    if (m_out.get() >= 0) read_output(m_out, m_out_lines);
    if (m_err.get() >= 0) read_output(m_err, m_err_lines);
    m_out_lines.finish();
    m_err_lines.finish();
  }

  // The keeper's exit queued a SIGCHLD on the signal channel: take it (and anything
  // else that came), so no later drain() logs it.
  void consume_pending_signals() { read_signals(); }

  MigratorResult result() {
    if (m_exec_error) throw_exec_failure(m_run.argv[0], *m_exec_error);
    const int status = m_wait_status.value_or(0);
    MigratorResult result;
    result.exit_code = exit_code_from_wait_status(status);
    result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    result.last_lines.assign(m_last_lines.begin(), m_last_lines.end());
    result.duration_ms = m_duration.count();
    result.pid = m_pid;
    result.guard_failure = m_guard_failure;
    if (m_left_over > 0 && !m_interrupted_by && m_guard_failure.empty()) {
      spdlog::warn("the migrator (pid {}) left {} running; {} killed", m_pid,
                   m_left_over == 1 ? "a process" : std::to_string(m_left_over) + " processes",
                   m_left_over == 1 ? "it was" : "they were");
    }
    if (m_interrupted_by) {
      const std::string how = result.signal != 0 ? "it was killed by " + signal_name(result.signal)
                                                 : "it exited with code " + std::to_string(result.exit_code);
      throw Interrupted(*m_interrupted_by,
                        "interrupted by " + signal_name(*m_interrupted_by) + " while running the migrator: " + how);
    }
    return result;
  }

  void on_line(bool is_stderr, std::string_view line) {
    m_last_lines.emplace_back(line);
    if (m_last_lines.size() > k_migrator_last_lines) m_last_lines.pop_front();
    if (m_run.on_line) m_run.on_line(is_stderr, line);
  }

  const MigratorRun& m_run;
  pid_t m_keeper;
  Fd m_out;
  Fd m_err;
  Fd m_messages;
  LineSplitter m_out_lines;
  LineSplitter m_err_lines;
  std::vector<char> m_buffer = std::vector<char>(64 * 1024);
  std::deque<std::string> m_last_lines;
  const Clock::time_point m_start = Clock::now();
  std::optional<Clock::time_point> m_next_heartbeat =
      m_run.heartbeat.count() > 0 ? std::optional(m_start + m_run.heartbeat) : std::nullopt;
  std::optional<Clock::time_point> m_kill_deadline;
  std::optional<int> m_interrupted_by;
  std::optional<int> m_wait_status;
  std::optional<int> m_exec_error;
  int m_left_over = 0; // descendants still running after the migrator exited, killed
  std::string m_guard_failure;
  pid_t m_pid = 0;
  std::chrono::milliseconds m_duration{0};
};

} // namespace

MigratorResult run_migrator(const MigratorRun& run) {
  const PreparedCommand command = prepare(run);
  Pipe out = make_pipe(true);
  Pipe err = make_pipe(true);
  Pipe messages = make_pipe(true);
  Fd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (devnull.get() < 0) throw_errno("open /dev/null");

  const keeper::Plan plan{getpid(),      command.argv.data(), command.envp.data(), command.candidates.data(),
                          devnull.get(), out.write.get(),     err.write.get(),     messages.write.get(),
                          run.hold_until_gone};
  const pid_t keeper = keeper::spawn(plan);
  if (keeper < 0) throw_errno("fork");

  out.write.reset();
  err.write.reset();
  messages.write.reset();
  devnull.reset();
  MigratorSession session(run, keeper, std::move(out.read), std::move(err.read), std::move(messages.read));
  return session.run();
}

} // namespace migrate_init
