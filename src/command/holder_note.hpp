#pragma once

#include "command/command_state.hpp"

#include <optional>
#include <string>
#include <vector>

namespace migrate_init {

// What a command-mode lock holder tells the waiters it wakes as it lets go (the NOTIFY's
// payload): the state it read, under the lock, after its migrator succeeded, or that its
// migrator failed and on what. A waiter whose
// own files agree with that state needs no query of its own: 31 replicas woken together on
// a busy server then reach their services one round trip sooner each. A waiter whose files
// differ (another image), or whose table is another one (another schema: a tenant, a
// service sharing AUTO_MIGRATE_LOCK_KEY), is not told it is done and asks the database as
// before. `schema` is table_schema() (command_state.hpp): the holder's after its migrator
// ran, the waiter's before it waited. A waiter whose migrator would run exactly as the
// holder's that failed (same command, files and schema) takes that failure as its own
// instead of running the migrator again, one replica after another.
// The note is a JSON array of strings, so that no revision id or table name can be
// mistaken for another field. Pure.

// ["alembic", schema, version table, row...]: what `version_table` held.
std::string alembic_holder_note(const std::string& schema, const std::string& version_table,
                                const std::vector<std::string>& rows);
// The rows a note says `version_table` in `schema` held; nullopt for any other note (or none).
std::optional<std::vector<std::string>> alembic_rows_in_note(const std::string& note, const std::string& schema,
                                                             const std::string& version_table);

// ["files", table schema, target schema, sha256 of the command, files digest]: `command`
// succeeded with those files for the target schema, as recorded in the run table in the
// table schema (command_state.hpp: RecordPlace).
std::string files_holder_note(const RecordPlace& place, const std::string& command, const std::string& digest);
// Whether a note says `command` succeeded with exactly the files of `digest`, for the same place.
bool note_records_files(const std::string& note, const RecordPlace& place, const std::string& command,
                        const std::string& digest);

// What a migrator ran on, as far as migrate-init can tell: what a waiter must share with a
// holder whose migrator failed to take that failure as its own. `target_schema` and
// `search_path` are the session's (the tenant's with tenants), `files_digest` the files the
// migrator reads (files_digest.hpp).
struct MigratorTarget {
  std::string target_schema;
  std::string search_path;
  std::string command;
  std::string files_digest;
};
// How a holder's migrator failed and whose it was: "exit 3", "4242@web-1".
struct HolderFailure {
  std::string ending;
  std::string holder;
};
// ["failed", target schema, search_path, sha256 of the command, files digest, ending, holder].
std::string failure_holder_note(const MigratorTarget& run, const HolderFailure& failure);
// Whether a note is a failure note at all: only then is a waiter's own MigratorTarget worth reading.
bool is_failure_note(const std::string& note);
// The failure a note tells of when its migrator ran exactly as `run`; nullopt otherwise.
std::optional<HolderFailure> failure_in_note(const std::string& note, const MigratorTarget& run);

} // namespace migrate_init
