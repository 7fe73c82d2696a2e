#pragma once

#include "config.hpp"
#include "pipeline/session.hpp"
#include "sql_files/discovery.hpp"
#include "sql_files/ledger.hpp"
#include "sql_files/planner.hpp"
#include "sql_files/safety.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace migrate_init {

// What every command of the .sql engine starts from: the files, a connection, and one
// ledger as it is now, read without a lock.
class MigrationContext {
public:
  // Reads the files, opens its own session and uses the configured ledger.
  explicit MigrationContext(const Config& config);
  // Uses `session`, the files already read, and the given ledger (a tenant's).
  MigrationContext(const Config& config, Session& session, const MigrationSet& files, LedgerName ledger);
  MigrationContext(const MigrationContext&) = delete;
  MigrationContext& operator=(const MigrationContext&) = delete;

  // Takes the migration lock (polling, with the holder logged) on this connection. When
  // the holder releases it and `still_needed` says no, returns a lock that is not held.
  std::unique_ptr<pg::AdvisoryLock> lock(const pg::AdvisoryLock::StillNeeded& still_needed = {});
  // Reads the ledger again (after taking the lock).
  void reread();

  Plan plan() const { return plan_migrations(set.file_names(), rows); }
  SafetyReport check(const Plan& plan) const;
  // A migration file by version, or nullptr.
  const Migration* find(const std::string& version) const;

private:
  std::unique_ptr<MigrationSet> m_own_files;
  std::unique_ptr<Session> m_own_session;

public:
  const Config& config;
  const MigrationSet& set;
  pg::Connection& connection;
  Ledger ledger;
  LedgerInfo info;
  std::vector<LedgerRow> rows;
};

// Logs each warning, then throws when there are errors: the one problem itself, or a
// summary after logging every one of them.
void enforce(const SafetyReport& report);

// Calls `visit` with the context of every ledger the configuration covers: each tenant's
// in turn (search_path set to the tenant, its schema as the first argument), or the one
// configured ledger (with an empty schema). For the read-only reports.
void for_each_ledger(const Config& config,
                     const std::function<void(const std::string& schema, MigrationContext& context)>& visit);

} // namespace migrate_init
