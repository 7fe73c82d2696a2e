#include "pg/connection.hpp"

#include "process/signal_channel.hpp"
#include "text.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <string_view>

namespace migrate_init::pg {
namespace {

std::string field(const PGresult* result, int code) {
  const char* value = result ? PQresultErrorField(result, code) : nullptr;
  return value ? value : "";
}

std::string compose(const std::string& severity, const std::string& primary, const std::string& detail,
                    const std::string& hint) {
  std::string text = (severity.empty() ? "ERROR" : severity) + ": " + one_line(primary);
  if (!detail.empty()) text += "; DETAIL: " + one_line(detail);
  if (!hint.empty()) text += "; HINT: " + one_line(hint);
  return text;
}

// libpq's own error text. When the connection is gone it runs to several lines ("server
// closed the connection unexpectedly", "This probably means the server terminated
// abnormally...", "invalid socket"): the first says what happened, the rest is noise.
std::string libpq_message(PGconn* connection) {
  std::string_view text = PQerrorMessage(connection);
  text = text.substr(0, text.find('\n'));
  for (std::string_view prefix : {"FATAL:  ", "ERROR:  "}) {
    if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
  }
  const std::string message(text.empty() ? "unknown libpq error" : text);
  return PQstatus(connection) == CONNECTION_BAD ? "lost the connection to the database server: " + message : message;
}

// Turns a failed result into a DatabaseError; a lost connection has no SQLSTATE, only
// libpq's message.
[[noreturn]] void throw_failure(PGconn* connection, const PGresult* result,
                                std::optional<std::size_t> statements_completed = std::nullopt) {
  std::string primary = field(result, PG_DIAG_MESSAGE_PRIMARY);
  const std::string severity = field(result, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (primary.empty()) {
    primary = libpq_message(connection);
  } else if (severity == "FATAL" || severity == "PANIC") {
    // The server ends the session after these. Whether libpq read the message before the
    // socket's end is a race; the run says the same either way.
    primary = "lost the connection to the database server: " + primary;
  }
  const std::string position = field(result, PG_DIAG_STATEMENT_POSITION);
  throw DatabaseError(field(result, PG_DIAG_SQLSTATE), severity, primary,
                      field(result, PG_DIAG_MESSAGE_DETAIL), field(result, PG_DIAG_MESSAGE_HINT),
                      position.empty() ? 0 : std::strtoul(position.c_str(), nullptr, 10), statements_completed);
}

bool failed(const PGresult* result) {
  const auto status = PQresultStatus(result);
  return status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY;
}

// A COPY ... FROM STDIN / TO STDOUT has no client data here: ends it (the server then
// reports an error) so that PQgetResult can move on instead of returning the COPY state
// forever. Returns whether `result` was such a COPY (it is freed).
bool end_copy(PGconn* connection, PGresult* result) {
  const auto status = PQresultStatus(result);
  if (status != PGRES_COPY_IN && status != PGRES_COPY_OUT && status != PGRES_COPY_BOTH) return false;
  PQclear(result);
  if (status == PGRES_COPY_OUT) {
    char* row = nullptr;
    while (PQgetCopyData(connection, &row, 0) > 0) PQfreemem(row);
  } else {
    PQputCopyEnd(connection, "migrate-init sends no COPY data: load data with INSERT, or COPY from a server file");
  }
  return true;
}

// How long a cancelled statement gets to end before the connection is given up on.
constexpr std::chrono::seconds k_cancel_grace{5};

} // namespace

DatabaseError::DatabaseError(std::string sqlstate, std::string severity, std::string primary, std::string detail,
                             std::string hint, std::size_t position, std::optional<std::size_t> statements_completed)
    : Error(ExitCode::migration_failed, compose(severity, primary, detail, hint)), m_sqlstate(std::move(sqlstate)),
      m_severity(std::move(severity)), m_primary(std::move(primary)), m_detail(std::move(detail)),
      m_hint(std::move(hint)), m_position(position), m_statements_completed(statements_completed) {}

Result Connection::exec(const std::string& sql) {
  if (!PQsendQuery(m_connection.get(), sql.c_str())) throw_failure(m_connection.get(), nullptr);
  return collect_results();
}

std::vector<Result> Connection::exec_batch(const std::string& sql) {
  if (!PQsendQuery(m_connection.get(), sql.c_str())) throw_failure(m_connection.get(), nullptr);
  std::vector<Result> results;
  try {
    collect_results(&results);
  } catch (const DatabaseError&) {
    if (PQstatus(m_connection.get()) != CONNECTION_OK) throw;
  }
  return results;
}

Result Connection::exec_params(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  if (!PQsendQueryParams(m_connection.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                         nullptr, nullptr, 0)) {
    throw_failure(m_connection.get(), nullptr);
  }
  return collect_results();
}

// libpq's PQexec, made interruptible: wait on the socket and the signal channel together.
// Like PQexec, returns the last result, or the first error.
Result Connection::collect_results(std::vector<Result>* all) {
  PGconn* connection = m_connection.get();
  Result last(nullptr);
  Result error(nullptr);
  std::size_t completed = 0; // statements that succeeded before the error
  const std::string sending = m_activity.empty() ? "sending a query" : m_activity;
  const std::string waiting = m_activity.empty() ? "waiting for the database server" : m_activity;
  try {
    while (PQflush(connection) == 1) wait_for_fd(PQsocket(connection), POLLIN | POLLOUT, std::nullopt, sending);
    auto next_beat = std::chrono::steady_clock::now() + m_heartbeat_interval;
    for (;;) {
      while (PQisBusy(connection)) {
        const auto deadline = m_heartbeat ? std::optional(next_beat) : std::nullopt;
        if (!wait_for_fd(PQsocket(connection), POLLIN, deadline, waiting)) {
          m_heartbeat();
          next_beat += m_heartbeat_interval;
          continue;
        }
        if (!PQconsumeInput(connection)) break; // the connection is gone; PQgetResult reports it
      }
      PGresult* raw = PQgetResult(connection);
      if (!raw) break;
      if (end_copy(connection, raw)) continue; // the server now reports the COPY as failed
      Result result(raw);
      if (failed(raw)) {
        if (!error.get()) error = std::move(result);
        continue;
      }
      if (!error.get()) ++completed;
      if (all) {
        all->push_back(std::move(result));
      } else {
        last = std::move(result);
      }
    }
  } catch (const Interrupted&) {
    cancel_and_discard();
    throw;
  }
  if (error.get()) throw_failure(connection, error.get(), completed);
  if (!last.get() && (!all || all->empty()) && PQstatus(connection) != CONNECTION_OK) {
    throw_failure(connection, nullptr);
  }
  return last;
}

// The statement must not keep running on the server after migrate-init gives up on it:
// ask the server to cancel it, then wait a little for the (error) result to arrive. A
// second stop signal during the wait ends it at once.
void Connection::cancel_and_discard() {
  PGconn* connection = m_connection.get();
  if (PGcancel* cancel = PQgetCancel(connection)) {
    char error[256];
    if (!PQcancel(cancel, error, sizeof error)) spdlog::warn("could not cancel the running statement: {}", error);
    PQfreeCancel(cancel);
  }
  const auto deadline = std::chrono::steady_clock::now() + k_cancel_grace;
  for (;;) {
    while (PQisBusy(connection)) {
      if (!wait_for_fd(PQsocket(connection), POLLIN, deadline, "cancelling the running statement") ||
          !PQconsumeInput(connection)) {
        return;
      }
    }
    PGresult* raw = PQgetResult(connection);
    if (!raw) return;
    end_copy(connection, raw);
    PQclear(raw);
  }
}

namespace {

// PQescapeLiteral or PQescapeIdentifier, their malloc'd result as a string.
std::string escaped_with(PGconn* connection, char* (*escape)(PGconn*, const char*, std::size_t), const std::string& text) {
  char* escaped = escape(connection, text.c_str(), text.size());
  if (!escaped) throw_failure(connection, nullptr);
  std::string out(escaped);
  PQfreemem(escaped);
  return out;
}

} // namespace

std::string Connection::escape_literal(const std::string& text) {
  return escaped_with(m_connection.get(), PQescapeLiteral, text);
}

std::string Connection::escape_identifier(const std::string& name) {
  return escaped_with(m_connection.get(), PQescapeIdentifier, name);
}

bool Connection::server_at_least(int major) const { return PQserverVersion(m_connection.get()) >= major * 10000; }

std::vector<Notification> Connection::consume_notifications() {
  PGconn* connection = m_connection.get();
  std::vector<Notification> received;
  if (!PQconsumeInput(connection)) return received;
  while (PGnotify* notification = PQnotifies(connection)) {
    received.push_back({notification->relname, notification->be_pid, notification->extra ? notification->extra : ""});
    PQfreemem(notification);
  }
  return received;
}

std::string Connection::last_error() const { return libpq_message(m_connection.get()); }

std::string Connection::connection_option(const std::string& keyword) const {
  std::string value;
  PQconninfoOption* options = PQconninfo(m_connection.get());
  for (PQconninfoOption* option = options; option && option->keyword; ++option) {
    if (keyword == option->keyword && option->val) value = option->val;
  }
  PQconninfoFree(options);
  return value;
}

bool Connection::in_transaction() const {
  const auto status = PQtransactionStatus(m_connection.get());
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

} // namespace migrate_init::pg
