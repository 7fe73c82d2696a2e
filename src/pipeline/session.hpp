#pragma once

#include "config.hpp"
#include "pg/advisory_lock.hpp"
#include "pg/connection.hpp"
#include "pipeline/ledger_name.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace migrate_init {

struct WaitBreaker;

// The one connection of a run, shared by every tenant: opened (waiting for the server)
// after the start line, which names the migrator, or counts the .sql files (`file_count`,
// listed before connecting so that a failed connection still says how many there were).
// `breaker` may end the wait for the server (pipeline/files_while_connecting.hpp).
struct Session {
  Session(const Config& config, std::size_t file_count, const WaitBreaker* breaker = nullptr);
  pg::Connection connection;
};

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

// Takes migration lock `key` on `connection`, polling with the holder logged
// (pg::AdvisoryLock). Once the lock is found free, before taking it: refuses a
// transaction-pooling pooler (a session lock would not hold) and lets the server notice a
// vanished holder within seconds. Every engine locks through here.
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

} // namespace migrate_init
