#pragma once

#include "config.hpp"

#include <cstddef>

namespace migrate_init {

// What a migration run did.
struct MigrateOutcome {
  std::size_t applied = 0;     // migrations applied by this run
  std::size_t total = 0;       // migration files on disk
  long long lock_wait_ms = 0;  // time spent waiting for the migration lock
};

// The migration phase, step by step: read the files, connect (waiting for the database),
// read the ledger without a lock and stop there if nothing is pending, otherwise take the
// advisory lock, create or adopt the ledger, re-read it, apply what is still pending, and
// release the lock. With tenant schemas, does this for each schema in turn. Throws Error
// with the exit code the failure calls for.
MigrateOutcome migrate(const Config& config);

} // namespace migrate_init
