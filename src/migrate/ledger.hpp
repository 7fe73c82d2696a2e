#pragma once

#include "migrate/discovery.hpp"
#include "migrate/ledger_name.hpp"
#include "migrate/planner.hpp"
#include "pg/connection.hpp"

#include <set>
#include <string>
#include <vector>

namespace migrate_init {

// What one round trip tells about the database and its ledger table.
struct LedgerInfo {
  std::string database;
  std::string schema;         // where the ledger is (or would be created)
  std::set<std::string> columns; // empty: no ledger table yet

  bool exists() const { return !columns.empty(); }
  bool has(const std::string& column) const { return columns.count(column) != 0; }
};

// The ledger table: which migrations are applied. Adopts a seed-style ledger
// `(id text primary key, applied_at timestamptz)` by adding the missing columns.
class Ledger {
public:
  Ledger(pg::Connection& connection, LedgerName name) : m_connection(connection), m_name(std::move(name)) {}

  // Database, schema and the table's columns, without locking anything.
  LedgerInfo inspect();
  // Every recorded migration; empty when there is no ledger yet.
  std::vector<LedgerRow> read(const LedgerInfo& info);
  // Creates the ledger, or adds the columns a seed-style one lacks; call under the lock.
  LedgerInfo ensure(const LedgerInfo& info);
  // Records `migration` as applied; call inside the migration's own transaction.
  void record(const LedgerInfo& info, const Migration& migration, long long execution_ms);

  const LedgerName& name() const { return m_name; }

private:
  pg::Connection& m_connection;
  LedgerName m_name;
};

// The ledger's applied_by: "<host name> migrate-init/<version>".
std::string applied_by();

} // namespace migrate_init
