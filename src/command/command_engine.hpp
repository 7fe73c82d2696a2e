#pragma once

#include "command/alembic/alembic_graph.hpp"
#include "pipeline/session.hpp"
#include "command/django/django_project.hpp"
#include "pipeline/engine.hpp"
#include "command/command_state.hpp"
#include "command/holder_note.hpp"
#include "process/migrator_process.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace migrate_init {

// An Alembic project's revision files, as the fast path reads them (apart from the
// database, so that a start can read them while it connects).
struct AlembicFiles {
  alembic::Project project;
  alembic::Graph graph;
};
// The Alembic project whose files the command engine for `config` will compare with
// alembic_version; nullopt when it compares none (not an Alembic project,
// AUTO_MIGRATE_FAST_PATH=off, a Django manifest). Reads alembic.ini and the like.
std::optional<alembic::Project> find_alembic_project(const Config& config);
// The project's listed revision files, read. Reads files only: safe on another thread.
AlembicFiles read_alembic_files(alembic::Project project, alembic::RevisionListing listing);
// Both: what the engine reads itself when the caller did not.
std::optional<AlembicFiles> read_alembic_files(const Config& config);

// Command mode (AUTO_MIGRATE_COMMAND): the project's own migrator (Alembic, Flask-Migrate,
// Knex, Django, any command) is "apply it". "Is anything pending?" is answered without
// starting it, so that a replica with nothing to do costs one query: for an Alembic
// project, by comparing the heads of the revision files with alembic_version; for any
// other command, by the record of its last success and the digest of the files it read
// then (AUTO_MIGRATE_DIR; for Django, the manifest of its migration graph). Whatever cannot be answered with certainty runs the migrator.
class CommandEngine : public MigrationEngine {
public:
  // For the configured database, or one tenant schema (its lock, AUTO_MIGRATE_SCHEMA).
  // `alembic_files`: read_alembic_files(config), when the caller read it already.
  CommandEngine(const Config& config, Session& session, const std::optional<std::string>& tenant,
                std::optional<std::optional<AlembicFiles>> alembic_files = std::nullopt);

  bool up_to_date(MigrateOutcome& outcome) override;
  std::string up_to_date_detail() const override;
  std::unique_ptr<pg::AdvisoryLock> lock(const pg::AdvisoryLock::StillNeeded& still_needed) override;
  // Trusts the holder's note (holder_note.hpp) when it says this engine's files are done;
  // otherwise reads the database. Throws the holder's failure when its migrator failed on
  // what this one's would run on: it is not run again, one replica after another.
  bool still_needed(const std::string& holder_note) override;
  void done_by_another(MigrateOutcome& outcome) override { ++outcome.already_applied; }
  EngineWork apply(MigrateOutcome& outcome) override;
  std::string failure_note() const override { return m_failure_note; }

  // Why the migrator must run; nullopt when the database is known to be up to date. Reads
  // the database (one query); for the boot contract and the reports too.
  std::optional<std::string> pending_reason();
  // What the fast path compares: "alembic" (revision heads), "files" (last success), "django"
  // (the last success's manifest) or "none".
  std::string fast_path_kind() const;
  // The Alembic graph read from the files, when this is an Alembic project.
  const std::optional<alembic::Graph>& alembic_graph() const { return m_graph; }
  // The rows of alembic_version read by the last pending_reason(), when it read them.
  const std::optional<std::vector<std::string>>& alembic_rows() const { return m_rows; }
  // Said by the last pending_reason(): alembic_version is past these files' heads, at
  // revisions a newer image recorded (alembic_ahead.hpp), so nothing is pending here.
  bool ahead() const { return m_ahead; }
  // Said by the last pending_reason(): alembic_version names a revision these files lack,
  // and no record shows it past their heads.
  bool at_unknown_revision() const { return m_unknown; }

private:
  std::int64_t lock_key();
  // AUTO_MIGRATE_DJANGO_MIGRATIONS: the fast path compares the manifest's migrations with
  // those of the last success; none when the project has migration files it lacks.
  void use_django_manifest();
  // A warning said once per run however many tenants' engines find the same.
  static void warn_once(const std::string& message);
  // Whether the migrator's sessions can get client_connection_check_interval: PostgreSQL
  // 14 or later, and a way to the server that takes the startup parameter `options`
  // (tried with a connection tagged `tag`); warns when it cannot.
  bool client_check_holds(const std::string& tag) const;
  // Why alembic_version, at revisions these files lack, still needs the migrator; nullopt
  // when a newer image's record shows it ahead (warned once). Reads that record.
  std::optional<std::string> beyond_these_files(const std::string& reason);
  // After a success: leaves what these files know for an older image (alembic_revision_record.hpp).
  void record_known_revisions();
  // What the migrator would run on now (holder_note.hpp); nullopt when its files cannot be read.
  // One round trip.
  std::optional<MigratorTarget> migrator_target();
  // Throws, as a failed migration, the failure a holder's note tells of when its migrator
  // ran on what this one's would.
  void take_holder_failure(const std::string& holder_note);
  // The failure note of a migrator that exited with `result`; "" when none can be made.
  std::string failure_note_of(const MigratorResult& result);

  // How pending_reason() reads its table: quietly once it found none (command_state.hpp).
  TableRead m_state_read = TableRead::plain;
  const Config& m_config;
  Session& m_session;
  std::optional<std::string> m_tenant;
  std::optional<alembic::Graph> m_graph;        // an Alembic project's revisions
  std::vector<std::filesystem::path> m_alembic_dirs; // its script directory and version locations
  LedgerName m_version_table;                   // its version table, for this tenant
  std::optional<std::string> m_files_digest;    // any other command: its files now (Django: its manifest's)
  std::optional<django::Manifest> m_django;     // Django's migration graph, from AUTO_MIGRATE_DJANGO_MIGRATIONS
  std::string m_no_fast_path;                   // why neither can be used, when so
  std::optional<std::vector<std::string>> m_rows;
  // Where the fast path's table is or would be, and what it is about, before the wait.
  RecordPlace m_place;
  std::string m_failure_note; // after a failed migrator: what the waiters are told
  std::optional<std::int64_t> m_lock_key;
  bool m_ahead = false;
  bool m_unknown = false;
  bool m_warned_ahead = false; // the warning is said once, however often the state is read
};

} // namespace migrate_init
