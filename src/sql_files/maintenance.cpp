#include "sql_files/maintenance.hpp"

#include "sql_files/sql_context.hpp"
#include "sql_files/runner.hpp"
#include "text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace migrate_init {
namespace {

const LedgerRow* find_row(const std::vector<LedgerRow>& rows, const std::string& version) {
  for (const auto& row : rows) {
    if (compare_versions(row.version, version) == 0) return &row;
  }
  return nullptr;
}

bool has_down_section(const Migration& migration) {
  return migration.script().down && !split_sql(migration.script().down->sql).statements.empty();
}

// The rows to roll back, newest first: the latest one, or every one after `to`.
std::vector<const LedgerRow*> rollback_targets(const std::vector<LedgerRow>& rows, const std::optional<std::string>& to) {
  std::vector<const LedgerRow*> targets;
  for (const auto& row : rows) targets.push_back(&row);
  std::sort(targets.begin(), targets.end(),
            [](const LedgerRow* a, const LedgerRow* b) { return compare_versions(a->version, b->version) > 0; });
  if (!to) {
    if (targets.size() > 1) targets.resize(1);
    return targets;
  }
  std::erase_if(targets, [&](const LedgerRow* row) { return compare_versions(row->version, *to) <= 0; });
  return targets;
}

// `repair VERSION --applied` for a file with no ledger row: its changes are in the
// database already (a psql-era file whose BEGIN..COMMIT committed, while the INSERT that
// recorded it never ran), so it is recorded as applied, with its checksum, without running.
int record_pending_as_applied(MigrationContext& context, const Migration& migration) {
  pg::run_in_transaction(context.connection, [&] { context.ledger.record_baseline(context.info, migration); });
  spdlog::info("recorded {} as applied without running it (checksum {})", migration.file.id(), migration.checksum);
  return to_int(ExitCode::ok);
}

// `repair --checksums`: applied rows with no checksum (written by another tool, or by a
// psql script before migrate-init adopted its ledger) get their file's checksum, so that
// a later change to the file is caught. A recorded checksum is never overwritten.
int record_missing_checksums(MigrationContext& context) {
  std::vector<std::string> recorded, without_file;
  pg::run_in_transaction(context.connection, [&] {
    for (const auto& row : context.rows) {
      if (!row.finished() || row.checksum) continue;
      const std::string id = row.version + "_" + row.name;
      const Migration* migration = context.find(row.version);
      if (!migration) {
        without_file.push_back(id);
        continue;
      }
      context.ledger.record_missing_checksum(context.info, row.version, migration->checksum);
      recorded.push_back(id);
    }
  });
  if (!without_file.empty()) {
    spdlog::warn("no file here for {}: {} no checksum", joined(without_file),
                 without_file.size() == 1 ? "its row keeps" : "their rows keep");
  }
  if (recorded.empty()) {
    if (without_file.empty()) spdlog::info("every applied migration has a checksum already; nothing to record");
    return to_int(ExitCode::ok);
  }
  spdlog::info("recorded the checksums of {} that had none, from the files here: {}",
               counted(static_cast<long long>(recorded.size()), "migration", "migrations"), joined(recorded));
  return to_int(ExitCode::ok);
}

} // namespace

int repair(const Config& config) {
  MigrationContext context(config);
  if (!context.info.exists()) throw UsageError("repair: there is no ledger " + config.ledger.display() + " yet");
  const auto lock = context.lock();
  context.info = context.ledger.ensure(context.info);
  context.reread();
  if (config.repair_checksums) return record_missing_checksums(context);
  const LedgerRow* row = find_row(context.rows, *config.repair_version);
  if (!row) {
    const Migration* pending = context.find(*config.repair_version);
    if (!pending) {
      throw UsageError("repair: the ledger has no migration with version " + *config.repair_version +
                       ", and no file in " + config.migrations_dir.string() + " has that version");
    }
    if (config.repair_applied) return record_pending_as_applied(context, *pending);
    throw UsageError("repair --retry: " + pending->file.id() + " is pending, not unfinished: `migrate-init migrate` "
                     "applies it (`migrate-init repair " + pending->file.version + " --applied` records it as "
                     "applied without running it, if its changes are in the database already)");
  }
  const std::string id = row->version + "_" + row->name;
  if (row->finished()) {
    spdlog::info("migration {} is already applied; nothing to repair", id);
    return to_int(ExitCode::ok);
  }
  const Migration* migration = context.find(row->version);
  if (config.repair_applied) {
    context.ledger.record_finished(row->version, migration ? migration->checksum : row->checksum.value_or(""), std::nullopt);
    spdlog::info("recorded {} as applied (completed by hand)", id);
    return to_int(ExitCode::ok);
  }
  if (!migration) throw Error(ExitCode::migration_failed, "repair --retry: the file of " + id + " is not here");
  if (migration->script().mode != TransactionMode::none) {
    throw Error(ExitCode::migration_failed, "repair --retry: " + migration->file.file_name + " is not a no-transaction file");
  }
  const RunSettings settings = prepare_session(context.connection, context.ledger, config);
  spdlog::info("resuming {} at statement {} of {}", id, row->statements_done + 1, row->statements_total);
  const long long ms =
      apply_migration(context.connection, context.ledger, context.info, *migration, settings, row->statements_done);
  spdlog::info("applied {} in {} ms", migration->file.file_name, ms);
  return to_int(ExitCode::ok);
}

int rollback(const Config& config) {
  MigrationContext context(config);
  if (!context.info.exists()) {
    spdlog::info("nothing to roll back: there is no ledger yet");
    return to_int(ExitCode::ok);
  }
  const auto lock = context.lock();
  context.info = context.ledger.ensure(context.info);
  context.reread();
  for (const auto& row : context.rows) {
    if (!row.finished()) throw Error(ExitCode::refused, "not rolling back: " + unfinished_message(row));
  }
  const auto targets = rollback_targets(context.rows, config.rollback_to);
  if (targets.empty()) {
    spdlog::info("nothing to roll back");
    return to_int(ExitCode::ok);
  }
  // Every file and down section is checked before anything is undone.
  std::vector<const Migration*> files;
  for (const LedgerRow* row : targets) {
    const Migration* migration = context.find(row->version);
    const std::string id = row->version + "_" + row->name;
    if (!migration) throw Error(ExitCode::migration_failed, "cannot roll back " + id + ": its file is not here");
    if (!has_down_section(*migration)) {
      throw Error(ExitCode::migration_failed,
                  "cannot roll back " + id + ": " + migration->file.file_name + " has no -- migrate:down section");
    }
    const auto problems = down_section_problems(migration->file.file_name, migration->script());
    if (!problems.empty()) {
      throw Error(ExitCode::migration_failed, "cannot roll back " + id + ": " + problems.front() +
                                                  " (in the -- migrate:down section; nothing was rolled back)");
    }
    files.push_back(migration);
  }
  configure_session(context.connection, config.db_lock_timeout, config.statement_timeout);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    spdlog::info("rolling back {}", files[i]->file.file_name);
    roll_back_migration(context.connection, context.ledger, *files[i], targets[i]->version);
  }
  spdlog::info("rolled back {}", counted(static_cast<long long>(targets.size()), "migration", "migrations"));
  return to_int(ExitCode::ok);
}

} // namespace migrate_init
