#include "migrate/maintenance.hpp"

#include "migrate/context.hpp"
#include "migrate/runner.hpp"
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

} // namespace

int repair(const Config& config) {
  MigrationContext context(config);
  if (!context.info.exists()) throw UsageError("repair: there is no ledger " + config.ledger.display() + " yet");
  const auto lock = context.lock();
  context.info = context.ledger.ensure(context.info);
  context.reread();
  const LedgerRow* row = find_row(context.rows, *config.repair_version);
  if (!row) throw UsageError("repair: the ledger has no migration with version " + *config.repair_version);
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
