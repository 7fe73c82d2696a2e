#pragma once

#include "error.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace migrate_init::pg {

// An error the server (or libpq) reported for a statement. what() is one line:
// "ERROR: message; DETAIL: ...; HINT: ...".
class DatabaseError : public Error {
public:
  DatabaseError(std::string sqlstate, std::string severity, std::string primary, std::string detail,
                std::string hint, std::size_t position, std::optional<std::size_t> statements_completed = std::nullopt);

  const std::string& sqlstate() const { return m_sqlstate; }
  // 1-based character position in the statement text; 0 when the server gave none.
  std::size_t position() const { return m_position; }
  // How many statements of the message completed before this error: the failing one is
  // the next (the server sends one result per statement of a multi-statement message).
  // Unknown when the query was never sent.
  std::optional<std::size_t> statements_completed() const { return m_statements_completed; }

private:
  std::string m_sqlstate, m_severity, m_primary, m_detail, m_hint;
  std::size_t m_position;
  std::optional<std::size_t> m_statements_completed;
};

// Runs `work`; a DatabaseError from it is thrown again as an Error with the same exit code,
// prefixed with what was being done ("reading the ledger schema_migrations: ERROR: ..."):
// the server's text alone does not say which step failed.
template <class Work>
auto in_context(const std::string& what, Work work) {
  try {
    return work();
  } catch (const DatabaseError& e) {
    throw Error(e.code(), what + ": " + e.what());
  }
}

// A query result; owns the PGresult.
class Result {
public:
  explicit Result(PGresult* result) : m_result(result, &PQclear) {}
  PGresult* get() const { return m_result.get(); }
  int rows() const { return PQntuples(m_result.get()); }
  bool is_null(int row, int column) const { return PQgetisnull(m_result.get(), row, column) != 0; }
  std::string value(int row, int column) const { return PQgetvalue(m_result.get(), row, column); }
  std::optional<std::string> optional_value(int row, int column) const {
    return is_null(row, column) ? std::nullopt : std::optional<std::string>(value(row, column));
  }
  int columns() const { return PQnfields(m_result.get()); }
  std::string column_name(int column) const { return PQfname(m_result.get(), column); }
  // The column's type, as the server's pg_type OID.
  unsigned column_type(int column) const { return PQftype(m_result.get(), column); }

private:
  std::unique_ptr<PGresult, decltype(&PQclear)> m_result;
};

// One open session; owns the PGconn and closes it on destruction.
// One NOTIFY as received: who sent it (the sending backend's pid) and what it said.
struct Notification {
  std::string channel;
  int sender_pid = 0;
  std::string payload; // "" when it said nothing
};

class Connection {
public:
  explicit Connection(PGconn* connection) : m_connection(connection, &PQfinish) {}

  // Runs SQL over the simple query protocol (several statements allowed); returns the
  // last statement's result. Throws DatabaseError. A stop signal while the server works
  // sends a cancel request, waits briefly for the server to stop, and throws Interrupted.
  Result exec(const std::string& sql);
  // Runs several statements sent as one message (one round trip) and returns each one's
  // result, in order, up to the first that fails: the server skips the rest, and that
  // failure is not thrown, since callers act on what succeeded. A lost connection and a
  // stop signal are thrown as by exec().
  std::vector<Result> exec_batch(const std::string& sql);
  // Runs one statement with text parameters (nullopt is NULL); otherwise like exec().
  Result exec_params(const std::string& sql, const std::vector<std::optional<std::string>>& params);

  // Calls `beat` every `interval` while a statement keeps the server busy (progress logs).
  void set_heartbeat(std::chrono::milliseconds interval, std::function<void()> beat) {
    m_heartbeat_interval = interval;
    m_heartbeat = std::move(beat);
  }
  void clear_heartbeat() { m_heartbeat = nullptr; }
  // What the statements sent now are for ("applying 002_x.sql"): signals that arrive
  // meanwhile are logged, or end the wait, as received while doing that. Empty: waiting
  // for the database server.
  void set_activity(std::string activity) { m_activity = std::move(activity); }

  // A string literal for this connection's settings (PQescapeLiteral): right whatever
  // standard_conforming_strings and the client encoding are.
  std::string escape_literal(const std::string& text);
  // A quoted identifier (PQescapeIdentifier), for names that come from outside this
  // program (tenant schemas, the ledger's schema as the server reports it).
  std::string escape_identifier(const std::string& name);
  // Whether the server is PostgreSQL `major` or later (14: client_connection_check_interval
  // and idle_session_timeout exist).
  bool server_at_least(int major) const;

  // Reads what the server sent while idle: the NOTIFY messages among it, in the order they
  // were sent (none also when the read failed: the next statement says why).
  std::vector<Notification> consume_notifications();

  // Whether the session is inside a transaction block (including a failed one).
  bool in_transaction() const;
  // libpq's last error, one line, "lost the connection to the database server: ..." when
  // the session is gone.
  std::string last_error() const;
  // The value libpq connected with for `keyword` ("options", "application_name"), after the
  // URL, a service file and the PG* variables; "" when none.
  std::string connection_option(const std::string& keyword) const;
  PGconn* get() const { return m_connection.get(); }

private:
  // The last result, or the first error; with `all`, every successful result goes there.
  Result collect_results(std::vector<Result>* all = nullptr);
  void cancel_and_discard();

  std::unique_ptr<PGconn, decltype(&PQfinish)> m_connection;
  std::chrono::milliseconds m_heartbeat_interval{10'000};
  std::function<void()> m_heartbeat;
  std::string m_activity;
};

// Names what `connection` is doing (Connection::set_activity) while it lives: a signal
// that arrives during one of its queries is then said to have come while doing that, not
// "while waiting for the database server". Restores no activity at the end.
class ActivityScope {
public:
  ActivityScope(Connection& connection, std::string activity) : m_connection(connection) {
    m_connection.set_activity(std::move(activity));
  }
  ~ActivityScope() { m_connection.set_activity(""); }
  ActivityScope(const ActivityScope&) = delete;
  ActivityScope& operator=(const ActivityScope&) = delete;

private:
  Connection& m_connection;
};

// Runs `work` in one transaction on `connection`: COMMIT after it, ROLLBACK (if the
// session is still in the transaction) when it throws, and the exception goes on.
template <class Work>
void run_in_transaction(Connection& connection, Work work) {
  connection.exec("BEGIN");
  try {
    work();
    connection.exec("COMMIT");
  } catch (...) {
    if (connection.in_transaction()) connection.exec("ROLLBACK");
    throw;
  }
}

} // namespace migrate_init::pg
