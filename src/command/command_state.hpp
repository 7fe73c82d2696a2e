#pragma once

#include "pipeline/ledger_name.hpp"
#include "pg/connection.hpp"

#include <optional>
#include <string>
#include <vector>

namespace migrate_init {

// What the database says about a migrator's past, read in one round trip each.

// How a table that may not exist yet is read.
enum class TableRead {
  // A plain SELECT, the cheapest a fresh server session answers (every no-op start asks
  // it); a missing table leaves one ERROR line in the server's log.
  plain,
  // Through to_regclass and query_to_xml: no error in the server's log, at about twice the
  // server's time. For a table a session found missing and asks again (a wait for another
  // instance's migrator polls every second).
  quiet,
};

// The rows of Alembic's version table (`version_num`); nullopt when the table does not exist
// (a fresh database). An unqualified name is looked up on search_path (a tenant's schema).
std::optional<std::vector<std::string>> read_alembic_versions(pg::Connection& connection, const LedgerName& table,
                                                              TableRead how = TableRead::plain);

// The schema `table` is in, or would be created in: the one it is found in, else the schema
// its name gives, else current_schema(); quoted as an identifier. Two sessions that say
// the same schema read the same table: what ties a lock holder's note to a waiter
// (holder_note.hpp). One round trip, asked only by a replica that is to take the lock.
std::string table_schema(pg::Connection& connection, const LedgerName& table);

// The table where migrate-init records a migrator's last success, beside the ledger:
// `migrate_init_runs` in the ledger's schema (AUTO_MIGRATE_TABLE's), else on search_path.
LedgerName run_record_table(const LedgerName& ledger);

// What a record of the migrator's success is about: the schema it migrated. With tenants,
// the tenant's (`tenant`); otherwise the session's current_schema(), where a migrator that
// connects as this session did works. A record is trusted only for its own schema: tenants
// share one run table when the ledger is schema-qualified.

// The files digest recorded with the last success of `command` for the target schema (the
// tenant, else current_schema()); nullopt when none is. A table from before records named
// their schema says nothing. One round trip.
std::optional<std::string> read_recorded_digest(pg::Connection& connection, const LedgerName& table,
                                                const std::string& command, const std::optional<std::string>& tenant,
                                                TableRead how = TableRead::plain);

// Where a waiter's and a holder's records are, to compare a holder's note with: the schema
// of the run table (table_schema()) and the target schema. One round trip.
struct RecordPlace {
  std::string table_schema;
  std::string target_schema;
};
RecordPlace record_place(pg::Connection& connection, const LedgerName& table, const std::optional<std::string>& tenant);

// Records a success of `command` for the target schema with the digest of the files it read,
// in one transaction; one row per command and schema, replaced each time. Creates the table
// (and its schema) on first use, and keys a table from before by schema too.
void record_success(pg::Connection& connection, const LedgerName& table, const std::string& command,
                    const std::optional<std::string>& tenant, const std::string& digest, long long duration_ms);

} // namespace migrate_init
