#include "sql_files/sql_engine.hpp"

#include "log.hpp"
#include "sql_files/runner.hpp"
#include "text.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

namespace migrate_init {
namespace {

// AUTO_MIGRATE_BASELINE on an empty ledger: record every file up to the baseline as
// applied without running it, all in one transaction.
void record_baseline(MigrationContext& context, const std::string& baseline) {
  std::size_t recorded = 0;
  pg::run_in_transaction(context.connection, [&] {
    for (const auto& migration : context.set.migrations) {
      if (compare_versions(migration.file.version, baseline) > 0) break;
      context.ledger.record_baseline(context.info, migration);
      ++recorded;
    }
  });
  spdlog::info("baseline {}: recorded {} as applied without running them", baseline,
               counted(static_cast<long long>(recorded), "migration", "migrations"));
  context.reread();
}

// A database with tables but no ledger was probably built some other way: say so. A
// tenant's ledger is about its own schema: the other tenants' tables say nothing of it.
void warn_if_unledgered_tables(MigrationContext& context, const std::optional<std::string>& tenant) {
  const std::string tables =
      context.connection
          .exec_params("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                       " AND ($1::text IS NULL OR schemaname = $1)",
                       {tenant})
          .value(0, 0);
  if (tables != "0") {
    spdlog::warn("{} has {} but no ledger; migrating from the first file (if those tables came from "
                 "these migrations, set AUTO_MIGRATE_BASELINE to the last version they include)",
                 tenant ? "tenant schema " + *tenant : std::string("the database"),
                 counted(std::stoll(tables), "table", "tables"));
  }
}

void apply_pending(MigrationContext& context, const Plan& plan, MigrateOutcome& outcome) {
  const RunSettings settings = prepare_session(context.connection, context.ledger, context.config);
  for (std::size_t index : plan.pending) {
    const Migration& migration = context.set.migrations[index];
    const MigrationScript& script = migration.script();
    const bool no_transaction = script.mode == TransactionMode::none;
    if (!script.detected_no_transaction.empty()) {
      spdlog::info("{} runs outside a transaction: {}", migration.file.file_name, script.detected_no_transaction);
    }
    if (!script.own_transaction_lines.empty()) {
      std::string lines;
      for (std::size_t line : script.own_transaction_lines) lines += (lines.empty() ? "" : ", ") + std::to_string(line);
      spdlog::debug("{}: its own BEGIN/COMMIT (lines {}) are dropped; it runs whole in one transaction with its "
                    "ledger row", migration.file.file_name, lines);
    }
    log_event(spdlog::level::info, "migration.start",
              "applying " + migration.file.file_name + (no_transaction ? " (no transaction)" : ""),
              {{"version", migration.file.version}, {"file", migration.file.file_name},
               {"mode", no_transaction ? "no-transaction" : "transaction"}});
    const long long ms = apply_migration(context.connection, context.ledger, context.info, migration, settings);
    ++outcome.applied;
    log_event(spdlog::level::info, "migration.applied", fmt::format("applied {} in {} ms", migration.file.file_name, ms),
              {{"version", migration.file.version}, {"file", migration.file.file_name},
               {"mode", no_transaction ? "no-transaction" : "transaction"}, {"duration_ms", ms}});
  }
}

// Whether any file writes or creates the ledger table itself, as psql-era sets do.
bool files_keep_the_ledger(const MigrationContext& context) {
  return std::any_of(context.set.migrations.begin(), context.set.migrations.end(), [&](const Migration& migration) {
    const auto& touches = migration.script().table_touches;
    return std::any_of(touches.begin(), touches.end(),
                       [&](const TableTouch& touch) { return touch.table == context.ledger.name().table; });
  });
}

// A no-transaction file's ledger row is written before its first statement, so its own
// plain INSERT of that row would fail half-way: refused before anything runs.
void refuse_plain_self_records(const MigrationContext& context, const Plan& plan) {
  SafetyReport report;
  for (std::size_t index : plan.pending) {
    const Migration& migration = context.set.migrations[index];
    if (migration.script().mode != TransactionMode::none) continue;
    for (const TableTouch& touch : migration.script().table_touches) {
      if (touch.creates || touch.on_conflict || touch.table != context.ledger.name().table) continue;
      report.errors.push_back(
          {ExitCode::migration_failed,
           migration.file.file_name + ":" + std::to_string(touch.line) + ": this file runs outside a transaction and "
           "records itself in " + touch.table + " without ON CONFLICT, but migrate-init writes that row before its "
           "first statement: add ON CONFLICT (id) DO NOTHING to the INSERT (migrate-init keeps the row either way)"});
    }
  }
  enforce(report);
}

} // namespace

SqlEngine::SqlEngine(const Config& config, Session& session, const MigrationSet& files,
                     const std::optional<std::string>& tenant)
    : m_context(config, session, files, tenant ? LedgerName{*tenant, config.ledger.table} : config.ledger), m_tenant(tenant) {}

void SqlEngine::note_baseline_not_recorded() {
  const auto& baseline = m_context.config.baseline;
  if (!baseline || m_context.rows.empty() || m_baseline_noted) return;
  m_baseline_noted = true;
  // The files up to the baseline that the ledger lacks: with none, the baseline is done.
  std::vector<std::string> missing, versions;
  for (std::size_t index : m_context.plan().pending) {
    const Migration& migration = m_context.set.migrations[index];
    if (compare_versions(migration.file.version, *baseline) > 0) break;
    missing.push_back(migration.file.id());
    versions.push_back(migration.file.version);
  }
  if (missing.empty()) {
    spdlog::info("AUTO_MIGRATE_BASELINE={}: nothing to record, every file up to {} is in the ledger already (the "
                 "setting can be removed)", *baseline, *baseline);
    return;
  }
  spdlog::warn("AUTO_MIGRATE_BASELINE={} ignored: the ledger {} is not empty ({}), and a baseline is recorded only on "
               "an empty ledger; {} {} no row: if {} ran outside migrate-init, record {} with `migrate-init repair {} "
               "--applied` (otherwise {} as pending)",
               *baseline, m_context.ledger.name().display(),
               counted(static_cast<long long>(m_context.rows.size()), "row", "rows"), joined(missing),
               missing.size() == 1 ? "has" : "have", missing.size() == 1 ? "it" : "they",
               missing.size() == 1 ? "it" : "each", missing.size() == 1 ? versions.front() : "VERSION",
               missing.size() == 1 ? "it runs" : "they run");
}

bool SqlEngine::up_to_date(MigrateOutcome& outcome) {
  note_baseline_not_recorded();
  // An unfinished row may be another replica's no-transaction migration in progress: only
  // under the lock can it be told apart from one that stopped, so it takes the lock path.
  const bool baseline_due = m_context.config.baseline && m_context.rows.empty();
  const bool unfinished = std::any_of(m_context.rows.begin(), m_context.rows.end(),
                                      [](const LedgerRow& row) { return !row.finished(); });
  if (baseline_due || unfinished) return false;
  const Plan plan = m_context.plan();
  const SafetyReport report = m_context.check(plan);
  if (plan.pending.empty() || !report.errors.empty()) {
    enforce(report);
    outcome.already_applied += m_context.set.migrations.size();
    return true;
  }
  spdlog::info("{} pending", counted(static_cast<long long>(plan.pending.size()), "migration", "migrations"));
  return false;
}

std::string SqlEngine::up_to_date_detail() const {
  return counted(static_cast<long long>(m_context.set.migrations.size()), "migration", "migrations");
}

std::unique_ptr<pg::AdvisoryLock> SqlEngine::lock(const pg::AdvisoryLock::StillNeeded& still_needed) {
  return m_context.lock(still_needed);
}

bool SqlEngine::still_needed(const std::string& /*holder_note*/) {
  // The holder may have created the ledger. The fast path's read: each of many waiters woken
  // together asks the server this at once.
  std::tie(m_context.info, m_context.rows) = m_context.ledger.inspect_and_read();
  const bool done = m_context.plan().pending.empty() &&
                    std::all_of(m_context.rows.begin(), m_context.rows.end(),
                                [](const LedgerRow& row) { return row.finished(); });
  return !done;
}

void SqlEngine::done_by_another(MigrateOutcome& outcome) {
  enforce(m_context.check(m_context.plan()));
  outcome.already_applied += m_context.set.migrations.size();
}

EngineWork SqlEngine::apply(MigrateOutcome& outcome) {
  const Config& config = m_context.config;
  if (!m_context.info.exists() && !config.baseline) warn_if_unledgered_tables(m_context, m_tenant);
  m_context.info = m_context.ledger.ensure(m_context.info, !m_context.info.exists() && files_keep_the_ledger(m_context));
  m_context.reread(); // another replica may have done the work while this one waited
  if (config.baseline && m_context.rows.empty()) {
    record_baseline(m_context, *config.baseline);
    m_baseline_noted = true;
  }
  note_baseline_not_recorded(); // another replica recorded it, or wrote rows, while this one waited
  const Plan plan = m_context.plan();
  enforce(m_context.check(plan));
  refuse_plain_self_records(m_context, plan);
  outcome.already_applied += m_context.set.migrations.size() - plan.pending.size();
  apply_pending(m_context, plan, outcome);
  return {!plan.pending.empty(),
          "applied " + counted(static_cast<long long>(plan.pending.size()), "migration", "migrations"), ""};
}

} // namespace migrate_init
