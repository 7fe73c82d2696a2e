#include "sql_files/runner.hpp"

#include "sql_files/source_position.hpp"
#include "process/signal_channel.hpp"
#include "process/signal_policy.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace migrate_init {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds k_first_retry_delay{500};
constexpr milliseconds k_max_retry_delay{5000};
constexpr std::string_view k_lock_not_available = "55P03"; // lock_timeout expired
constexpr std::string_view k_invalid_encoding = "22021";   // character_not_in_repertoire

std::size_t character_count(std::string_view utf8) {
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// The file line of the statement of `sent` an error without a position came from: the
// one after those the server completed. Split only now, on the way to an error message;
// the server splits a message into statements exactly where split_sql does.
std::optional<std::size_t> failing_statement_line(const ScriptSection& sent, const pg::DatabaseError& error) {
  // An invalid byte sequence is found in the whole message before any statement runs.
  if (!error.statements_completed() || error.sqlstate() == k_invalid_encoding) return std::nullopt;
  const SplitSql split = split_sql(sent.sql);
  const std::size_t index = *error.statements_completed();
  if (index >= split.statements.size()) return std::nullopt;
  return split.statements[index].line + sent.first_line - 1;
}

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

void roll_back(pg::Connection& connection) {
  if (!connection.in_transaction()) return;
  try {
    connection.exec("ROLLBACK");
  } catch (const std::exception& e) {
    spdlog::debug("ROLLBACK failed: {}", e.what()); // the session is gone: nothing was committed
  }
}

[[noreturn]] void fail(const Migration& migration, const std::string& reason) {
  throw Error(ExitCode::migration_failed, "migration " + migration.file.id() + " failed: " + reason);
}

// Logs progress while one statement keeps the server busy, and names what the connection
// is doing for signals that arrive meanwhile; both cleared on scope exit.
class HeartbeatScope {
public:
  HeartbeatScope(pg::Connection& connection, milliseconds interval, std::function<void()> beat,
                 const std::string& activity)
      : m_connection(connection) {
    m_connection.set_heartbeat(interval, std::move(beat));
    m_connection.set_activity(activity);
  }
  ~HeartbeatScope() {
    m_connection.clear_heartbeat();
    m_connection.set_activity("");
  }
  HeartbeatScope(const HeartbeatScope&) = delete;
  HeartbeatScope& operator=(const HeartbeatScope&) = delete;

private:
  pg::Connection& m_connection;
};

// Runs `attempt` again, with backoff, while it fails on lock_timeout: a short lock_timeout
// plus retries keeps a migration from queueing every query on a busy table behind it.
template <class Attempt>
auto with_lock_retries(const RunSettings& settings, const std::string& what, Attempt attempt) {
  milliseconds delay = k_first_retry_delay;
  for (int number = 1;; ++number) {
    try {
      return attempt();
    } catch (const pg::DatabaseError& e) {
      if (e.sqlstate() != k_lock_not_available || number >= settings.db_lock_retries) throw;
      spdlog::warn("{}: lock timeout (attempt {} of {}), retrying in {} ms: {}", what, number,
                   settings.db_lock_retries, delay.count(), e.what());
      interruptible_sleep(delay, "waiting to retry " + what);
      delay = std::min(k_max_retry_delay, delay * 2);
    }
  }
}

std::string gave_up_note(const pg::DatabaseError& e, const RunSettings& settings) {
  return e.sqlstate() == k_lock_not_available
             ? fmt::format(" (gave up after {} attempts: AUTO_MIGRATE_DB_LOCK_TIMEOUT, AUTO_MIGRATE_DB_LOCK_RETRIES)",
                           settings.db_lock_retries)
             : "";
}

long long apply_in_transaction(pg::Connection& connection, Ledger& ledger, const LedgerInfo& info,
                               const Migration& migration, const RunSettings& settings) {
  const auto& file = migration.file.file_name;
  try {
    return with_lock_retries(settings, file, [&] {
      connection.exec(settings.begin + "; " + settings.session_reset);
      const auto started = Clock::now();
      try {
        HeartbeatScope heartbeat(
            connection, settings.heartbeat,
            [&] { spdlog::info("still running {}: {} s, in one transaction", migration.file.id(), ms_since(started) / 1000); },
            "applying " + file);
        // Sent whole over the simple query protocol, in one message with its ledger row
        // and the COMMIT: $$ bodies and many statements just work, the file comes first
        // so the server's error position counts from its first character, and a file
        // costs two round trips. A failing statement stops the rest: no row, no commit.
        connection.exec(migration.script().up.sql + "\n;\n" + ledger.record_applied_sql(info, migration) + ";\nCOMMIT");
        return ms_since(started);
      } catch (...) {
        roll_back(connection);
        throw;
      }
    });
  } catch (const pg::DatabaseError& e) {
    // The server skips the blanked-out BEGIN/COMMIT as empty statements, so its count of
    // completed statements indexes up_statements: no need to split a big file again.
    const auto& statements = migration.script().up_statements;
    const auto completed = e.statements_completed();
    if (e.position() > character_count(migration.script().up.sql) ||
        (e.position() == 0 && completed && *completed >= statements.size())) {
      fail(migration, file + ": recording it in the ledger: " + e.what());
    }
    std::optional<std::size_t> line;
    if (e.position() == 0 && completed && e.sqlstate() != k_invalid_encoding) line = statements[*completed].line;
    fail(migration, locate_error(file, migration.script().up, e, line) + gave_up_note(e, settings));
  } catch (const Interrupted& e) {
    throw Interrupted(e.signal_number(), "interrupted by " + signal_name(e.signal_number()) + " while applying " +
                                             file + ": the statement was cancelled and rolled back; it will be "
                                             "applied on the next start");
  }
}

// After CREATE INDEX / REINDEX ... CONCURRENTLY: an INVALID index (a failed or interrupted
// build, or one that IF NOT EXISTS skipped) must fail the migration, not be recorded.
std::optional<std::string> invalid_index(pg::Connection& connection, const ConcurrentIndex& target) {
  if (!target.index && !target.table) return std::nullopt;
  std::string sql = "SELECT string_agg(c.oid::regclass::text, ', ') FROM pg_index i JOIN pg_class c ON c.oid = "
                    "i.indexrelid WHERE NOT i.indisvalid";
  std::vector<std::optional<std::string>> params;
  if (target.index) {
    params.push_back(target.index);
    sql += " AND c.relname = $" + std::to_string(params.size());
  }
  if (target.table) {
    params.push_back(target.table);
    sql += " AND i.indrelid = to_regclass($" + std::to_string(params.size()) + ")";
  }
  return connection.exec_params(sql, params).optional_value(0, 0);
}

std::string repair_hint(const std::string& version, int statement_number) {
  return fmt::format("it is recorded as unfinished: fix the cause, then run `migrate-init repair {} --retry` to "
                     "resume at statement {}, or `migrate-init repair {} --applied` if you completed it by hand",
                     version, statement_number, version);
}

void run_statement(pg::Connection& connection, const SqlStatement& statement, const RunSettings& settings,
                   const std::string& what) {
  // Neither timeout cuts short a CONCURRENTLY build or a VACUUM: a concurrent build waits
  // for older transactions by design, and a cancelled one leaves an INVALID index behind.
  if (needs_no_transaction(statement)) {
    connection.exec("SET lock_timeout = 0; SET statement_timeout = 0");
    connection.exec(statement.text);
    configure_session(connection, settings.lock_timeout, settings.statement_timeout);
    return;
  }
  with_lock_retries(settings, what, [&] { return connection.exec(statement.text); });
}

// Records a no-transaction file's failure in its ledger row, when the connection still
// allows it. When the connection is what failed (or a second stop signal came, or the
// cancelled statement is still running), the first error is the one to report, with the
// repair command: the row already says the file is unfinished, and up to which statement.
void record_failure(Ledger& ledger, const std::string& version, const std::string& reason) {
  try {
    ledger.record_error(version, reason);
  } catch (const std::exception& e) {
    spdlog::warn("could not record the failure of {} in the ledger: {}", version, e.what());
  }
}

long long apply_statements(pg::Connection& connection, Ledger& ledger, const LedgerInfo& info,
                           const Migration& migration, const RunSettings& settings, int resume_at) {
  const auto& statements = migration.script().up_statements;
  const int total = static_cast<int>(statements.size());
  const std::string& version = migration.file.version;
  if (!settings.session_reset.empty()) connection.exec(settings.session_reset);
  if (resume_at < 0) ledger.record_started(info, migration, total);
  const auto started = Clock::now();
  int current = std::max(resume_at, 0);
  HeartbeatScope heartbeat(
      connection, settings.heartbeat,
      [&] {
        spdlog::info("still running {}: {} s, statement {} of {}", migration.file.id(), ms_since(started) / 1000,
                     current + 1, total);
      },
      "applying " + migration.file.file_name);
  for (; current < total; ++current) {
    const SqlStatement& statement = statements[static_cast<std::size_t>(current)];
    const std::string where = fmt::format("statement {} of {} ({}:{})", current + 1, total,
                                          migration.file.file_name, statement.line);
    try {
      run_statement(connection, statement, settings, migration.file.file_name + " " + where);
      if (const auto target = concurrent_index(statement)) {
        if (const auto invalid = invalid_index(connection, *target)) {
          throw Error(ExitCode::migration_failed,
                      "index " + *invalid + " is INVALID after the concurrent build (an earlier attempt was "
                      "interrupted, or the build failed); drop it with DROP INDEX CONCURRENTLY and retry");
        }
      }
    } catch (const pg::DatabaseError& e) {
      const std::string reason = fmt::format("statement {} of {}: ", current + 1, total) +
                                 locate_error(migration.file.file_name, {statement.text, statement.line}, e, statement.line) +
                                 gave_up_note(e, settings);
      record_failure(ledger, version, reason);
      fail(migration, reason + "; " + repair_hint(version, current + 1));
    } catch (const Interrupted& e) {
      record_failure(ledger, version, "interrupted by " + signal_name(e.signal_number()) + " at " + where);
      throw Interrupted(e.signal_number(), "interrupted by " + signal_name(e.signal_number()) + " at " + where +
                                               " of " + migration.file.id() + "; " + repair_hint(version, current + 1));
    } catch (const Error& e) {
      record_failure(ledger, version, where + ": " + e.what());
      fail(migration, where + ": " + e.what() + "; " + repair_hint(version, current + 1));
    }
    ledger.record_progress(version, current + 1);
  }
  const long long execution_ms = ms_since(started);
  ledger.record_finished(version, migration.checksum, execution_ms);
  return execution_ms;
}

} // namespace

RunSettings prepare_session(pg::Connection& connection, Ledger& ledger, const Config& config) {
  RunSettings settings;
  settings.db_lock_retries = config.db_lock_retries;
  settings.lock_timeout = config.db_lock_timeout;
  settings.statement_timeout = config.statement_timeout;
  configure_session(connection, settings.lock_timeout, settings.statement_timeout);
  // What this session set itself (search_path for a tenant, the timeouts, keepalives...),
  // quoted by the server's format(%L), to be put back after RESET ALL: each file starts
  // from the session as it was before the first one, as under `psql -f` per file, and no
  // SET of a file leaks into the next. Role and session authorization are not reset by
  // RESET ALL; they get their own RESETs.
  // The transaction characteristics go into each file's BEGIN instead: a transaction takes
  // them when it starts, before any reset in it could act.
  const pg::Result session = connection.exec(
      "SELECT current_user, coalesce(string_agg(format('SELECT pg_catalog.set_config(%L, %L, false); ', name, "
      "setting), ''), ''), format('BEGIN ISOLATION LEVEL %s READ %s %sDEFERRABLE', "
      "current_setting('default_transaction_isolation'), CASE current_setting('default_transaction_read_only') "
      "WHEN 'on' THEN 'ONLY' ELSE 'WRITE' END, CASE current_setting('default_transaction_deferrable') WHEN 'on' "
      "THEN '' ELSE 'NOT ' END) FROM pg_catalog.pg_settings WHERE source = 'session' AND name NOT IN ('role', "
      "'session_authorization')");
  settings.session_reset = "RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL; " + session.value(0, 1);
  settings.begin = session.value(0, 2);
  ledger.keep_own_role(session.value(0, 0));
  return settings;
}

void configure_session(pg::Connection& connection, milliseconds lock_timeout, milliseconds statement_timeout) {
  connection.exec(fmt::format("SET lock_timeout = {}; SET statement_timeout = {}", lock_timeout.count(),
                              statement_timeout.count()));
}

std::string locate_error(const std::string& file_name, const ScriptSection& sent, const pg::DatabaseError& error,
                         std::optional<std::size_t> line_without_position) {
  std::string where = file_name;
  if (error.position() > 0) {
    where += ":" + std::to_string(line_of_character_position(sent.sql, error.position()) + sent.first_line - 1);
  } else if (line_without_position) {
    where += ":" + std::to_string(*line_without_position);
  } else if (const auto line = failing_statement_line(sent, error)) {
    where += ":" + std::to_string(*line);
  }
  return where + ": " + error.what();
}

long long apply_migration(pg::Connection& connection, Ledger& ledger, const LedgerInfo& info,
                          const Migration& migration, const RunSettings& settings, int resume_at) {
  if (migration.script().mode == TransactionMode::none) {
    return apply_statements(connection, ledger, info, migration, settings, resume_at);
  }
  return apply_in_transaction(connection, ledger, info, migration, settings);
}

void roll_back_migration(pg::Connection& connection, Ledger& ledger, const Migration& migration,
                         const std::string& recorded_version) {
  const ScriptSection& down = *migration.script().down;
  connection.exec("BEGIN");
  try {
    connection.exec(down.sql);
    connection.exec("RESET SESSION AUTHORIZATION; RESET ROLE"); // whatever role the down section ended with
    ledger.remove(recorded_version);
    connection.exec("COMMIT");
  } catch (const pg::DatabaseError& e) {
    roll_back(connection);
    throw Error(ExitCode::migration_failed,
                "rolling back " + migration.file.id() + " failed: " + locate_error(migration.file.file_name, down, e));
  } catch (...) {
    roll_back(connection);
    throw;
  }
}

} // namespace migrate_init
