#pragma once

namespace migrate_init {

// Every exit code migrate-init itself produces. Anything else is the service's own.
// docs/reference.md documents the same table; keep them together.
enum class ExitCode : int {
  ok = 0,
  migration_failed = 1,     // a migration (or the migrations directory) failed
  usage = 2,                // bad command line, setting or environment value
  lock_timeout = 3,         // another instance held the migration lock too long
  database_unreachable = 4, // could not connect within AUTO_MIGRATE_WAIT, or refused
  refused = 5,              // the ledger and the files disagree: drift, out of order, unfinished
  lock_lost = 6,            // the migration lock's session ended while the migrator ran: it was stopped
  not_executable = 126,     // the service command exists but cannot be executed
  not_found = 127,          // the service command was not found
};

constexpr int to_int(ExitCode code) { return static_cast<int>(code); }

} // namespace migrate_init
