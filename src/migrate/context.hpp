#pragma once

#include "config.hpp"
#include "migrate/discovery.hpp"
#include "migrate/ledger.hpp"
#include "migrate/planner.hpp"
#include "migrate/safety.hpp"
#include "pg/advisory_lock.hpp"
#include "pg/connection.hpp"

#include <memory>
#include <vector>

namespace migrate_init {

// What every database command starts from: the files read, a connection, and the ledger
// as it is now, read without a lock.
class MigrationContext {
public:
  // Reads the files (before connecting), connects (waiting for the database), reads the ledger.
  explicit MigrationContext(const Config& config);
  MigrationContext(const MigrationContext&) = delete;
  MigrationContext& operator=(const MigrationContext&) = delete;

  // Takes the migration lock (polling, with the holder logged) on this connection.
  std::unique_ptr<pg::AdvisoryLock> lock();
  // Reads the ledger again (after taking the lock).
  void reread();

  Plan plan() const { return plan_migrations(set.file_names(), rows); }
  SafetyReport check(const Plan& plan) const;
  // A migration file by version, or nullptr.
  const Migration* find(const std::string& version) const;

  const Config& config;
  MigrationSet set;
  pg::Connection connection;
  Ledger ledger;
  LedgerInfo info;
  std::vector<LedgerRow> rows;
};

// Logs each warning, then throws when there are errors: the one problem itself, or a
// summary after logging every one of them.
void enforce(const SafetyReport& report);

} // namespace migrate_init
