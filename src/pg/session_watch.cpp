#include "pg/session_watch.hpp"

#include "text.hpp"

#include <poll.h>

#include <spdlog/fmt/fmt.h>

namespace migrate_init::pg {
namespace {

using Clock = std::chrono::steady_clock;

} // namespace

SessionWatch::SessionWatch(Connection& connection, std::chrono::milliseconds probe_interval,
                           std::chrono::milliseconds answer_timeout)
    : m_connection(connection), m_probe_interval(probe_interval), m_answer_timeout(answer_timeout),
      m_last_answer(Clock::now()) {
  m_previous_receiver = PQsetNoticeReceiver(connection.get(), &SessionWatch::on_notice, this);
  m_previous_argument = nullptr; // connect.cpp's receiver takes none
}

SessionWatch::~SessionWatch() { PQsetNoticeReceiver(m_connection.get(), m_previous_receiver, m_previous_argument); }

void SessionWatch::on_notice(void* watch, const PGresult* notice) {
  auto* self = static_cast<SessionWatch*>(watch);
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  const std::string_view level = severity ? severity : "";
  if (level == "FATAL" || level == "PANIC") {
    const char* primary = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
    self->m_server_said = std::string(level) + ": " + one_line(primary ? primary : "");
  } else if (self->m_previous_receiver) {
    self->m_previous_receiver(self->m_previous_argument, notice);
  }
}

int SessionWatch::fd() const { return PQsocket(m_connection.get()); }

// The connection is in libpq's blocking mode: PQsendQuery has sent the whole probe.
short SessionWatch::events() const { return POLLIN; }

Clock::time_point SessionWatch::next_check() const {
  return m_probe_sent ? *m_probe_sent + m_answer_timeout : m_last_answer + m_probe_interval;
}

std::string SessionWatch::lost(const std::string& how) const {
  // The server's own words say why better than libpq's "server closed the connection".
  return m_server_said.empty() ? how : "the server ended the session: " + m_server_said;
}

std::optional<std::string> SessionWatch::read_answer() {
  PGconn* connection = m_connection.get();
  while (!PQisBusy(connection)) {
    PGresult* result = PQgetResult(connection);
    if (!result) {
      m_probe_sent.reset();
      m_last_answer = Clock::now();
      return std::nullopt;
    }
    const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK;
    std::string error = ok ? "" : one_line(PQresultErrorMessage(result));
    PQclear(result);
    if (!ok) return lost("the session's probe failed: " + error);
  }
  return std::nullopt;
}

std::optional<std::string> SessionWatch::check() {
  PGconn* connection = m_connection.get();
  if (PQstatus(connection) != CONNECTION_OK || !PQconsumeInput(connection) || PQstatus(connection) != CONNECTION_OK) {
    return lost(m_connection.last_error());
  }
  while (PGnotify* notification = PQnotifies(connection)) PQfreemem(notification);
  const auto now = Clock::now();
  if (m_probe_sent) {
    if (auto failure = read_answer()) return failure;
    if (m_probe_sent && now >= *m_probe_sent + m_answer_timeout) {
      return lost(fmt::format("the server has not answered the session for {} s (network cut off?)",
                              std::chrono::duration_cast<std::chrono::seconds>(now - *m_probe_sent).count()));
    }
  }
  if (!m_probe_sent && now >= m_last_answer + m_probe_interval) {
    if (!PQsendQuery(connection, "SELECT 1")) return lost(m_connection.last_error());
    m_probe_sent = now;
  }
  return std::nullopt;
}

std::optional<std::string> SessionWatch::finish() {
  PGconn* connection = m_connection.get();
  while (m_probe_sent) {
    if (PQstatus(connection) != CONNECTION_OK || !PQconsumeInput(connection)) return lost(m_connection.last_error());
    if (auto failure = read_answer()) return failure;
    if (!m_probe_sent) break;
    const auto deadline = *m_probe_sent + m_answer_timeout;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      return lost(fmt::format("the server has not answered the session for {} s (network cut off?)",
                              m_answer_timeout.count() / 1000));
    }
    pollfd ready{PQsocket(connection), POLLIN, 0};
    poll(&ready, 1, static_cast<int>(left));
  }
  return std::nullopt;
}

} // namespace migrate_init::pg
