#include "process/signal_channel.hpp"

#include "process/signal_policy.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace migrate_init {
namespace {

struct ChannelState {
  int fd = -1;
  sigset_t original_mask{};
};

ChannelState& state() {
  static ChannelState instance;
  return instance;
}

// A SIGPIPE the kernel raised because one of migrate-init's own writes found its reader
// gone (the sender is the process itself). The write already failed with EPIPE and its
// caller deals with that; as a signal it means nothing, and logging it would write to the
// same closed pipe, raise another SIGPIPE and loop forever, lower-numbered than SIGTERM,
// which signalfd would then never deliver. A SIGPIPE that another process sends is kept
// (forwarded to the service when supervising).
bool is_own_write_failure(const signalfd_siginfo& info) {
  return info.ssi_signo == SIGPIPE && info.ssi_code == SI_USER && static_cast<pid_t>(info.ssi_pid) == getpid();
}

// Handles one signal received outside the supervisor: a stop signal interrupts.
void handle_while_migrating(int signal_number, const std::string& while_doing) {
  if (is_stop_signal(signal_number)) {
    throw Interrupted(signal_number, "interrupted by " + signal_name(signal_number) + " while " + while_doing);
  }
  spdlog::warn("ignoring {} received while {} (it is not passed on to the service)", signal_name(signal_number),
               while_doing);
}

} // namespace

namespace signal_channel {

void take_over() {
  ChannelState& channel = state();
  if (channel.fd >= 0) return;
  sigset_t handled;
  sigemptyset(&handled);
  for (int signal_number = 1; signal_number <= SIGRTMAX; ++signal_number) {
    if (is_handled_signal(signal_number)) sigaddset(&handled, signal_number);
  }
  if (sigprocmask(SIG_BLOCK, &handled, &channel.original_mask) != 0) {
    throw std::runtime_error(std::string("sigprocmask: ") + std::strerror(errno));
  }
  channel.fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  if (channel.fd < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
}

int fd() { return state().fd; }

std::optional<int> read_pending() {
  if (state().fd < 0) return std::nullopt;
  for (;;) {
    signalfd_siginfo info{};
    const ssize_t got = read(state().fd, &info, sizeof info);
    if (got != static_cast<ssize_t>(sizeof info)) return std::nullopt;
    if (is_own_write_failure(info)) continue;
    return static_cast<int>(info.ssi_signo);
  }
}

void drain(const std::string& while_doing) {
  while (auto signal_number = read_pending()) handle_while_migrating(*signal_number, while_doing);
}

void restore_original_mask() {
  if (state().fd < 0) return;
  sigprocmask(SIG_SETMASK, &state().original_mask, nullptr);
}

} // namespace signal_channel

bool wait_for_fd(int fd, short events, std::optional<std::chrono::steady_clock::time_point> deadline,
                 const std::string& while_doing, const WaitBreaker* breaker) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      timeout_ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
    }
    // fd < 0 means "just the signals": poll ignores entries with a negative descriptor.
    pollfd fds[3] = {{fd, events, 0}, {signal_channel::fd(), POLLIN, 0}, {breaker ? breaker->fd : -1, POLLIN, 0}};
    const int ready = poll(fds, 3, timeout_ms);
    if (ready < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    if (ready <= 0) continue;
    signal_channel::drain(while_doing);
    if (breaker && fds[2].revents != 0) breaker->raise();
    if (fd >= 0 && fds[0].revents != 0) return true;
  }
}

void interruptible_sleep(std::chrono::milliseconds duration, const std::string& while_doing,
                         const WaitBreaker* breaker) {
  wait_for_fd(-1, 0, std::chrono::steady_clock::now() + duration, while_doing, breaker);
}

} // namespace migrate_init
