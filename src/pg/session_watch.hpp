#pragma once

#include "pg/connection.hpp"
#include "process/migrator_process.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace migrate_init::pg {

// How often the watch asks an idle session whether it is still there, and how long an
// answer may take before the session counts as lost. Together well under the 25 s after
// which the server gives up on a silent client (keepalives idle 10 s + 3 probes 5 s
// apart, pipeline/session.cpp): a holder cut off from the server notices before its lock is freed.
inline constexpr std::chrono::milliseconds k_session_probe_interval{2000};
inline constexpr std::chrono::milliseconds k_session_answer_timeout{10'000};

// Watches an idle session (the migration lock's, while the migrator runs) without
// blocking: a session the server ends (pg_terminate_backend, a restart, an idle-session
// reaper) shows on its socket at once; a silent network cut shows as a probe
// (`SELECT 1`, every k_session_probe_interval) without an answer within
// k_session_answer_timeout. Messages that arrive meanwhile (NOTIFYs of a channel the
// session listens to) are read and dropped.
class SessionWatch : public RunGuard {
public:
  explicit SessionWatch(Connection& connection,
                        std::chrono::milliseconds probe_interval = k_session_probe_interval,
                        std::chrono::milliseconds answer_timeout = k_session_answer_timeout);
  ~SessionWatch() override;
  SessionWatch(const SessionWatch&) = delete;
  SessionWatch& operator=(const SessionWatch&) = delete;

  int fd() const override;
  short events() const override;
  std::chrono::steady_clock::time_point next_check() const override;
  // nullopt while the session is there; once it is not, why (with libpq's or the server's words).
  std::optional<std::string> check() override;

  // Waits (until the probe's deadline at most) for the answer of a probe still under way, so
  // that the connection takes statements again: nullopt then; else why the session is lost.
  std::optional<std::string> finish();

private:
  static void on_notice(void* watch, const PGresult* notice);
  std::optional<std::string> read_answer();
  std::string lost(const std::string& how) const;

  Connection& m_connection;
  std::chrono::milliseconds m_probe_interval;
  std::chrono::milliseconds m_answer_timeout;
  std::chrono::steady_clock::time_point m_last_answer;
  std::optional<std::chrono::steady_clock::time_point> m_probe_sent;
  // The server's last words (a FATAL sent as it ends the session arrives as a notice while
  // idle), and the notice receiver in place before the watch.
  std::string m_server_said;
  PQnoticeReceiver m_previous_receiver = nullptr;
  void* m_previous_argument = nullptr;
};

} // namespace migrate_init::pg
