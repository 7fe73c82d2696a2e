#include "migrate/runner.hpp"

#include "migrate/source_position.hpp"
#include "process/signal_channel.hpp"
#include "process/signal_policy.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace migrate_init {
namespace {

void roll_back(pg::Connection& connection) {
  if (!connection.in_transaction()) return;
  try {
    connection.exec("ROLLBACK");
  } catch (const pg::DatabaseError& e) {
    spdlog::debug("ROLLBACK failed: {}", e.what()); // the session is gone: nothing was committed
  }
}

[[noreturn]] void fail(const Migration& migration, const std::string& reason) {
  throw Error(ExitCode::migration_failed, "migration " + migration.file.id() + " failed: " + reason);
}

} // namespace

std::string locate_error(const Migration& migration, const pg::DatabaseError& error) {
  std::string where = migration.file.file_name;
  if (error.position() > 0) where += ":" + std::to_string(line_of_character_position(migration.sql, error.position()));
  return where + ": " + error.what();
}

long long apply_migration(pg::Connection& connection, Ledger& ledger, const LedgerInfo& info,
                          const Migration& migration) {
  connection.exec("BEGIN");
  const auto started = std::chrono::steady_clock::now();
  try {
    // Sent whole over the simple query protocol: $$ bodies and many statements just work,
    // and the server's error position counts from the file's first character.
    connection.exec(migration.sql);
  } catch (const pg::DatabaseError& e) {
    roll_back(connection);
    fail(migration, locate_error(migration, e));
  } catch (const Interrupted& e) {
    roll_back(connection);
    throw Interrupted(e.signal_number(), "interrupted by " + signal_name(e.signal_number()) + " while applying " +
                                             migration.file.file_name +
                                             ": the statement was cancelled and rolled back; it will be applied "
                                             "on the next start");
  }
  const auto execution_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  try {
    ledger.record(info, migration, execution_ms);
  } catch (const pg::DatabaseError& e) {
    roll_back(connection);
    fail(migration, migration.file.file_name + ": recording it in the ledger: " + e.what());
  }
  try {
    connection.exec("COMMIT"); // deferred constraints are checked here
  } catch (const pg::DatabaseError& e) {
    roll_back(connection);
    fail(migration, migration.file.file_name + ": at commit: " + e.what());
  }
  return execution_ms;
}

} // namespace migrate_init
