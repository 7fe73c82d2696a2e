#pragma once

#include "error.hpp"

#include <signal.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace migrate_init {

// A stop signal (SIGTERM, SIGINT) arrived while migrating: exit 128+N, service not started.
class Interrupted : public Error {
public:
  Interrupted(int signal_number, const std::string& message)
      : Error(static_cast<ExitCode>(128 + signal_number), message), m_signal(signal_number) {}
  int signal_number() const { return m_signal; }

private:
  int m_signal;
};

// The process's signals, read as data. take_over() blocks every handled signal (see
// signal_policy.hpp) and opens a signalfd for them: from then on no signal interrupts or
// kills migrate-init behind its back, waits on the database can be woken by a stop
// signal, and the supervisor reads the same descriptor. Process-wide, like signals.
namespace signal_channel {

// Blocks the handled signals and opens the signalfd; idempotent.
void take_over();
// The signalfd, or -1 before take_over().
int fd();
// Reads one pending signal without blocking.
std::optional<int> read_pending();
// Consumes every pending signal: a stop signal throws Interrupted (`while` says what was
// going on); any other is logged and dropped, so nothing received while migrating reaches
// the service later.
void drain(const std::string& while_doing);
// Puts back the signal mask migrate-init started with (before exec, in a child).
void restore_original_mask();

} // namespace signal_channel

// What else may end a wait: work on another thread whose failure makes the wait pointless
// (the .sql files read while connecting). Once `fd` is readable, `raise()` is called, and
// throws that failure.
struct WaitBreaker {
  int fd = -1;
  std::function<void()> raise;
};

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT) or `deadline` passes; returns
// false on timeout. Stop signals throw Interrupted; other signals are logged and dropped.
// `breaker`, when given, may end the wait by throwing.
bool wait_for_fd(int fd, short events, std::optional<std::chrono::steady_clock::time_point> deadline,
                 const std::string& while_doing, const WaitBreaker* breaker = nullptr);

// Sleeps, but a stop signal ends the sleep by throwing Interrupted (and `breaker`, when
// given, by throwing what it throws).
void interruptible_sleep(std::chrono::milliseconds duration, const std::string& while_doing,
                         const WaitBreaker* breaker = nullptr);

} // namespace migrate_init
