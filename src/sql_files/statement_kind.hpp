#pragma once
// What kind of statement a split statement is, read from its tokens: what the .sql engine
// must know of it to run a file as psql would (outside a transaction, its own BEGIN and
// COMMIT, a self-recorded ledger row, COPY from the client). Pure.

#include "sql_files/sql_splitter.hpp"

#include <cstddef>
#include <optional>
#include <string>

namespace migrate_init {

// Where a CREATE INDEX / REINDEX ... CONCURRENTLY statement's index is, to check that it
// ended valid.
struct ConcurrentIndex {
  std::optional<std::string> index; // the index's name, when the statement names it
  std::optional<std::string> table; // the table, when the statement names it (ON t, REINDEX TABLE t)
};

// A statement that writes to or creates a table by name: how a psql-era file keeps its
// own ledger (`INSERT INTO schema_migrations (id) VALUES (...) ON CONFLICT DO NOTHING`,
// `CREATE TABLE IF NOT EXISTS schema_migrations (...)`).
struct TableTouch {
  bool creates = false;     // CREATE TABLE; otherwise INSERT INTO
  std::string table;        // the name's last part, as PostgreSQL folds it
  std::size_t line = 0;
  bool on_conflict = false; // an INSERT with ON CONFLICT
};

// Why a statement cannot run inside a transaction block ("CREATE INDEX CONCURRENTLY",
// "VACUUM", ...), or nullopt when it can.
std::optional<std::string> needs_no_transaction(const SqlStatement& statement);

// The index a CREATE INDEX CONCURRENTLY or REINDEX ... CONCURRENTLY statement builds;
// nullopt for any other statement.
std::optional<ConcurrentIndex> concurrent_index(const SqlStatement& statement);

// What a statement does to the transaction it runs in.
enum class TransactionControl {
  none,   // anything else (SAVEPOINT, RELEASE and ROLLBACK TO included: they nest inside)
  begin,  // BEGIN, START TRANSACTION
  commit, // COMMIT, END (not COMMIT PREPARED, not AND CHAIN)
  other,  // ROLLBACK, ABORT, COMMIT AND CHAIN, PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED
};

TransactionControl transaction_control(const SqlStatement& statement);

// INSERT INTO name / CREATE [UNLOGGED|TEMP] TABLE [IF NOT EXISTS] name, or nullopt.
std::optional<TableTouch> table_touch(const SqlStatement& statement);

// COPY ... FROM STDIN / TO STDOUT: data only psql can send or read.
bool copies_with_client(const SqlStatement& statement);

// The statement's first keyword in capitals ("COMMIT", "END"), for messages.
std::string statement_keyword(const SqlStatement& statement);

} // namespace migrate_init
