#pragma once

#include <optional>
#include <string>
#include <vector>

namespace migrate_init {

// What a command-mode lock holder tells the waiters it wakes as it lets go (the NOTIFY's
// payload): the state it read, under the lock, after its migrator succeeded. A waiter whose
// own files agree with that state needs no query of its own: 31 replicas woken together on
// a busy server then reach their services one round trip sooner each. A waiter whose files
// differ (another image), or whose table is another one (another schema: a tenant, a
// service sharing AUTO_MIGRATE_LOCK_KEY), is not told it is done and asks the database as
// before. `schema` is table_schema() (command_state.hpp): the holder's after its migrator
// ran, the waiter's before it waited.
// The note is a JSON array of strings, so that no revision id or table name can be
// mistaken for another field. Pure.

// ["alembic", schema, version table, row...]: what `version_table` held.
std::string alembic_holder_note(const std::string& schema, const std::string& version_table,
                                const std::vector<std::string>& rows);
// The rows a note says `version_table` in `schema` held; nullopt for any other note (or none).
std::optional<std::vector<std::string>> alembic_rows_in_note(const std::string& note, const std::string& schema,
                                                             const std::string& version_table);

// ["files", schema, sha256 of the command, files digest]: `command` succeeded with those
// files, as recorded in the run table in `schema`.
std::string files_holder_note(const std::string& schema, const std::string& command, const std::string& digest);
// Whether a note says `command` succeeded with exactly the files of `digest`, recorded in `schema`.
bool note_records_files(const std::string& note, const std::string& schema, const std::string& command,
                        const std::string& digest);

} // namespace migrate_init
