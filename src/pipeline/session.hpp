#pragma once

#include "config.hpp"
#include "sql_files/discovery.hpp"
#include "sql_files/ledger.hpp"
#include "sql_files/planner.hpp"
#include "sql_files/safety.hpp"
#include "pg/advisory_lock.hpp"
#include "pg/connection.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace migrate_init {

// The files, read before connecting, and one connection: shared by every tenant of a run.
struct Session {
  explicit Session(const Config& config);
  // With the files already read (to count them even when connecting fails).
  Session(const Config& config, MigrationSet files);
  MigrationSet set;
  pg::Connection connection;
};

// What every database command starts from: the files, a connection, and one ledger as it
// is now, read without a lock.
class MigrationContext {
public:
  // Opens its own session and uses the configured ledger.
  explicit MigrationContext(const Config& config);
  // Uses `session` and the given ledger (a tenant's).
  MigrationContext(const Config& config, Session& session, LedgerName ledger);
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

// The migration lock's key for `ledger`: AUTO_MIGRATE_LOCK_KEY, or derived from the
// database, the ledger's schema (where its table is, or would be created) and its table
// name. Both engines lock a ledger under this key, so that replicas of both kinds (an
// image that switches to command mode) never migrate at once.
std::int64_t migration_lock_key(const Config& config, const std::string& database, const std::string& schema,
                                const LedgerName& ledger);
// The same, asking the server where `ledger` is (one query), for an engine that does not
// read the ledger: whatever a table of that name holds (another tool's ledger), it is not
// read or checked.
std::int64_t migration_lock_key(const Config& config, pg::Connection& connection, const LedgerName& ledger);

// Takes migration lock `key` on `connection`: refuses a transaction-pooling pooler (a
// session lock would not hold), lets the server notice a vanished holder within seconds,
// then polls with the holder logged (pg::AdvisoryLock). Every engine locks through here.
std::unique_ptr<pg::AdvisoryLock> take_migration_lock(const Config& config, pg::Connection& connection,
                                                      std::int64_t key, const pg::AdvisoryLock::StillNeeded& still_needed);

// Whether the run covers tenant schemas (AUTO_MIGRATE_SCHEMAS or AUTO_MIGRATE_SCHEMAS_QUERY).
bool has_tenants(const Config& config);

// The tenant schemas: the configured list, or the first column of the configured query.
std::vector<std::string> tenant_schemas(const Config& config, Session& session);

// Points the session's search_path at one tenant schema (any name, quoted by libpq).
void enter_tenant_schema(Session& session, const std::string& schema);

// Creates a tenant schema that does not exist yet (the .sql engine's ledger does as much),
// for a migrator run under the tenant's lock with search_path set to it.
void create_missing_tenant_schema(pg::Connection& connection, const std::string& schema);

// Calls `visit` with the context of every ledger the configuration covers: each tenant's
// in turn (search_path set to the tenant, its schema as the first argument), or the one
// configured ledger (with an empty schema). For the read-only reports.
void for_each_ledger(const Config& config,
                     const std::function<void(const std::string& schema, MigrationContext& context)>& visit);

} // namespace migrate_init
