#pragma once

#include "config.hpp"
#include "sql_files/discovery.hpp"
#include "sql_files/ledger.hpp"
#include "pg/connection.hpp"

#include <chrono>

namespace migrate_init {

// How migration statements are run.
struct RunSettings {
  int db_lock_retries = 6;                        // attempts when lock_timeout (55P03) strikes
  std::chrono::milliseconds lock_timeout{5000};   // the session's lock_timeout; 0: off
  std::chrono::milliseconds statement_timeout{0}; // the session's statement_timeout; 0: off
  std::chrono::milliseconds heartbeat{10'000};    // "still running" log interval
  // SQL that puts the session back as it was before the first migration (role, and every
  // setting: RESET ALL, then what the session itself had set), sent ahead of each one: a
  // file's SET must not leak into the next file.
  std::string session_reset;
  // The BEGIN of each transactional file, with the session's transaction characteristics
  // (isolation, read-only, deferrable) as they were before the first one.
  std::string begin = "BEGIN";
};

// Sets the session's lock_timeout and statement_timeout from `config`, and returns the run
// settings, with a session_reset for the connection's current role and search_path; tells
// `ledger` that role (Ledger::keep_own_role).
RunSettings prepare_session(pg::Connection& connection, Ledger& ledger, const Config& config);

// Sets the session's lock_timeout and statement_timeout for migrating (0: off).
void configure_session(pg::Connection& connection, std::chrono::milliseconds lock_timeout,
                       std::chrono::milliseconds statement_timeout);

// Applies one migration and returns its execution time in ms.
// A transactional file runs in one transaction together with its ledger row: both commit
// or neither does; a lock timeout rolls back and retries with backoff.
// A no-transaction file runs statement by statement, recorded as running first, its
// progress after each statement, applied at the end; `resume_at` skips statements done.
// Failure: Error(migration_failed) "migration 011_x failed: 011_x.sql:3: ERROR: ...".
long long apply_migration(pg::Connection& connection, Ledger& ledger, const LedgerInfo& info,
                          const Migration& migration, const RunSettings& settings, int resume_at = -1);

// Runs a migration's down section and removes its ledger row, in one transaction.
void roll_back_migration(pg::Connection& connection, Ledger& ledger, const Migration& migration,
                         const std::string& recorded_version);

// "011_x.sql:3: ERROR: ..." for an error in `sent`, a part of the file. Without a
// position from the server (duplicate key, relation exists, lock timeout) the line is
// `line_without_position`, else the line of the statement that failed when the error says
// how many before it completed, else left out. Pure.
std::string locate_error(const std::string& file_name, const ScriptSection& sent, const pg::DatabaseError& error,
                         std::optional<std::size_t> line_without_position = std::nullopt);

} // namespace migrate_init
