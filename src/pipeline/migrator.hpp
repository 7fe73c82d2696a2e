#pragma once

#include "config.hpp"

#include <cstddef>

namespace migrate_init {

// What a migration run did, counted over every ledger it covers.
struct MigrateOutcome {
  std::size_t applied = 0;     // migrations applied by this run
  std::size_t already_applied = 0; // found applied (by an earlier run or another instance)
  std::size_t total = 0;       // migrations the ledgers are to hold: files on disk, times tenants
  std::size_t files = 0;       // migration files on disk
  std::size_t tenants = 0;     // tenant schemas (0: no tenants, one ledger)
  long long lock_wait_ms = 0;  // time spent waiting for the migration lock
};

// The migration phase, step by step: read the files, connect (waiting for the database),
// read the ledger without a lock and stop there if nothing is pending, otherwise take the
// advisory lock, create or adopt the ledger, re-read it, apply what is still pending, and
// release the lock. With tenant schemas, does this for each schema in turn. Throws Error
// with the exit code the failure calls for; `outcome` counts what was done up to then.
void migrate(const Config& config, MigrateOutcome& outcome);

} // namespace migrate_init
