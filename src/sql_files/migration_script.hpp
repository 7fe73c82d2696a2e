#pragma once

#include "sql_files/sql_splitter.hpp"
#include "sql_files/statement_kind.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// How a migration runs.
enum class TransactionMode {
  transaction, // the whole up section and its ledger row in one transaction
  none,        // statement by statement, outside any transaction, progress recorded as it goes
};

// A piece of a file that is sent to the server, with where it sits in the file.
struct ScriptSection {
  std::string sql;
  std::size_t first_line = 1; // the file line of sql's first line
};

// A migration file, understood: its mode, the SQL that runs going forward (and back), its
// statements, and what makes it unfit to run.
struct MigrationScript {
  TransactionMode mode = TransactionMode::transaction;
  ScriptSection up;                         // what runs going forward (BEGIN/COMMIT wrapper removed)
  std::optional<ScriptSection> down;        // the `-- migrate:down` section, if any
  // The up section's statements; lines are file lines, offsets are in up.sql. A
  // no-transaction file runs them one by one, so each is kept whole. A transactional file
  // runs up.sql as one text, so each keeps only its offset, line and first token (its
  // kind): a big file's statement texts and tokens would take several times its size.
  std::vector<SqlStatement> up_statements;
  // The lines of the file's own BEGIN/START TRANSACTION and COMMIT/END statements, blanked
  // out of up.sql (spaces, line breaks kept): the file then runs whole in migrate-init's one
  // transaction, together with its ledger row, statements around its blocks included.
  std::vector<std::size_t> own_transaction_lines;
  // Why a file with no marker runs statement by statement, as psql would run it
  // ("CREATE INDEX CONCURRENTLY at line 3"); empty for a marked or transactional file.
  std::string detected_no_transaction;
  std::vector<TableTouch> table_touches;    // every INSERT INTO and CREATE TABLE of the up section
  std::vector<std::string> problems;        // "file:line: what is wrong; what to do"
};

// Parses a migration file's text (without BOM). Recognises the no-transaction markers
// (`-- migrate-init: no-transaction`, `-- migrate:up transaction:false`,
// `-- +goose NO TRANSACTION`, `-- atlas:txmode none`) and dbmate's `-- migrate:up` /
// `-- migrate:down` sections. Pure.
MigrationScript parse_migration_script(std::string_view file_name, std::string_view text);

// The same, taking the text over: the up section is cut out of it in place instead of
// copied, so that a big file is held once.
MigrationScript parse_migration_script_in_place(std::string_view file_name, std::string&& text);

// split_sql(sql), a window of about `window` bytes at a time, for a text too big to hold
// every token of at once: calls `visit` with each statement in order, and returns the rest
// of the split (meta_command_line, error) without statements. Lines count from
// `first_line`. Whatever the window, the statements, lines and problems are split_sql's:
// only a statement ended by a splitting ';' inside the window is taken, the window's last
// one is split again at the start of the next window. Pure.
SplitSql split_sql_in_windows(std::string_view sql, const std::function<void(SqlStatement&&)>& visit,
                              std::size_t first_line = 1, std::size_t window = std::size_t{1} << 20);

// What in the `-- migrate:down` section could not run (unterminated text, psql
// meta-commands, COPY from the client), as "file:line: ..." problems; checked before a
// rollback undoes anything. Pure.
std::vector<std::string> down_section_problems(std::string_view file_name, const MigrationScript& script);

} // namespace migrate_init
