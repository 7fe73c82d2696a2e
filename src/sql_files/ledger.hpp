#pragma once

#include "sql_files/discovery.hpp"
#include "pipeline/ledger_name.hpp"
#include "sql_files/planner.hpp"
#include "pg/connection.hpp"

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace migrate_init {

// What one round trip tells about the database and its ledger table.
struct LedgerInfo {
  std::string database;
  std::string schema;            // where the ledger is (or would be created)
  std::set<std::string> columns; // empty: no ledger table yet

  bool exists() const { return !columns.empty(); }
  bool has(const std::string& column) const { return columns.count(column) != 0; }
};

// The ledger table: which migrations are applied, and how far an unfinished
// no-transaction migration got. Adopts a seed-style ledger `(id text primary key,
// applied_at timestamptz)` by adding the missing columns.
class Ledger {
public:
  Ledger(pg::Connection& connection, LedgerName name) : m_connection(connection), m_name(std::move(name)) {}

  // Database, schema and the table's columns, without locking anything.
  LedgerInfo inspect();
  // Every recorded migration; empty when there is no ledger yet.
  std::vector<LedgerRow> read(const LedgerInfo& info);
  // inspect() and read() in one round trip when the ledger is one of migrate-init's own
  // (every start but the first); in two otherwise.
  std::pair<LedgerInfo, std::vector<LedgerRow>> inspect_and_read();
  // Creates the ledger, or adds the columns an older or seed-style one lacks; call under the lock.
  // `keyed_by_id`: the migration files write the ledger themselves (a psql-era
  // `INSERT INTO schema_migrations (id) ...`), so a new ledger takes the seed-style shape
  // they expect: `id text PRIMARY KEY` (the file name without .sql) and `applied_at`.
  LedgerInfo ensure(const LedgerInfo& info, bool keyed_by_id = false);

  // The INSERT that records `migration` as applied, with its execution time measured by
  // the server: sent in one message after the file and before COMMIT, so the file and its
  // row commit together in one round trip. It first puts back migrate-init's own role,
  // whatever SET ROLE or SET SESSION AUTHORIZATION the file ended with.
  std::string record_applied_sql(const LedgerInfo& info, const Migration& migration);
  // Remembers the role migrate-init migrates as (current_user before any file runs): the
  // writes below then run as that role whatever a no-transaction file's statements did to
  // the session, and the file's next statement still runs as the file left it.
  void keep_own_role(const std::string& role) { m_own_role = role; }
  // Records `migration` as applied without running it (AUTO_MIGRATE_BASELINE).
  void record_baseline(const LedgerInfo& info, const Migration& migration);
  // A no-transaction migration: recorded as running before its first statement...
  void record_started(const LedgerInfo& info, const Migration& migration, int statements_total);
  // ...its progress after each statement...
  void record_progress(const std::string& version, int statements_done);
  // ...why it stopped, if it did...
  void record_error(const std::string& version, const std::string& error);
  // ...and as applied after its last statement (also `repair --applied`).
  void record_finished(const std::string& version, const std::string& checksum, std::optional<long long> execution_ms);
  // Records `checksum` in an applied row that has none (`repair --checksums`); a row with a
  // checksum is left as it is.
  void record_missing_checksum(const LedgerInfo& info, const std::string& version, const std::string& checksum);
  // Removes a migration's row (rollback); call inside the rollback's transaction.
  void remove(const std::string& version);

  const LedgerName& name() const { return m_name; }

private:
  // The LedgerInfo of inspect()'s query result.
  LedgerInfo info_from(const pg::Result& result);
  // Refuses tables that are not ledgers, and remembers the ledger's schema.
  LedgerInfo checked(LedgerInfo info);
  // The table, schema-qualified once inspect() has resolved it: a migration that changes
  // search_path must not send the ledger row to another table.
  std::string table_sql() const;
  // Runs one write, as the role keep_own_role() named when it did.
  void write(const std::string& sql);
  // A literal for this connection, or NULL.
  std::string literal(const std::optional<std::string>& value);
  // Whether `id` has a unique index of its own (asked once): the row is then upserted on it.
  bool id_is_unique();
  std::optional<bool> m_id_is_unique;

  pg::Connection& m_connection;
  LedgerName m_name;
  std::string m_schema; // resolved by inspect()
  std::string m_own_role;
};

// The ledger's applied_by: "<host name> migrate-init/<version>".
std::string applied_by();

} // namespace migrate_init
