#include "process/supervisor.hpp"

#include "process/signal_channel.hpp"
#include "process/signal_policy.hpp"
#include "process/spawn.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace migrate_init {
namespace {

using Clock = std::chrono::steady_clock;

// Collects every exited child; returns the main child's wait status once it has exited.
std::optional<int> reap_children(pid_t service) {
  std::optional<int> service_status;
  for (;;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break; // 0: children left, none exited; -1/ECHILD: no children at all
    if (pid == service) {
      service_status = status;
    } else {
      spdlog::debug("reaped orphaned process {} (exit code {})", pid, exit_code_from_wait_status(status));
    }
  }
  return service_status;
}

class Supervisor {
public:
  Supervisor(pid_t service, const SuperviseOptions& options) : m_service(service), m_options(options) {}

  int run() {
    for (;;) {
      if (const auto status = reap_children(m_service)) {
        const int code = exit_code_from_wait_status(*status);
        spdlog::debug("service exited; exit code {}", code);
        return code;
      }
      wait_for_signal();
      if (m_kill_deadline && Clock::now() >= *m_kill_deadline) kill_service();
      while (const auto signal_number = signal_channel::read_pending()) handle(*signal_number);
    }
  }

private:
  void wait_for_signal() const {
    int timeout_ms = -1;
    if (m_kill_deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*m_kill_deadline - Clock::now());
      timeout_ms = static_cast<int>(std::max<long long>(0, left.count()));
    }
    pollfd fd{signal_channel::fd(), POLLIN, 0};
    poll(&fd, 1, timeout_ms);
  }

  void handle(int signal_number) {
    if (signal_number == SIGCHLD) return; // reaped at the top of the loop
    if (!is_forwarded_signal(signal_number)) {
      spdlog::debug("ignoring {} (job control aimed at migrate-init itself)", signal_name(signal_number));
      return;
    }
    send(signal_number);
    if (is_stop_signal(signal_number) && m_options.stop_timeout.count() > 0 && !m_kill_deadline) {
      m_kill_deadline = Clock::now() + m_options.stop_timeout;
    }
  }

  void send(int signal_number) const {
    const pid_t target = m_options.process_group ? -m_service : m_service;
    if (kill(target, signal_number) != 0 && errno != ESRCH) {
      spdlog::warn("could not forward {} to {}: {}", signal_name(signal_number), target, std::strerror(errno));
    }
  }

  void kill_service() {
    spdlog::warn("the service did not exit within {} ms of the stop signal (AUTO_MIGRATE_STOP_TIMEOUT); sending SIGKILL",
                 m_options.stop_timeout.count());
    send(SIGKILL);
    m_kill_deadline.reset();
  }

  pid_t m_service;
  SuperviseOptions m_options;
  std::optional<Clock::time_point> m_kill_deadline;
};

} // namespace

int supervise(const std::vector<std::string>& command, const SuperviseOptions& options) {
  signal_channel::take_over();
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    spdlog::warn("could not become a child subreaper ({}); orphaned processes will not be reaped",
                 std::strerror(errno));
  }
  const pid_t service = spawn_service(command);
  spdlog::debug("supervising the service, pid {}", service);
  return Supervisor(service, options).run();
}

} // namespace migrate_init
