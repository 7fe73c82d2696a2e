#include "migrate/migrator.hpp"

#include "migrate/context.hpp"
#include "migrate/runner.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace migrate_init {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// AUTO_MIGRATE_BASELINE on an empty ledger: record every file up to the baseline as
// applied without running it, all in one transaction.
void record_baseline(MigrationContext& context, const std::string& baseline) {
  std::size_t recorded = 0;
  context.connection.exec("BEGIN");
  for (const auto& migration : context.set.migrations) {
    if (compare_versions(migration.file.version, baseline) > 0) break;
    context.ledger.record_baseline(context.info, migration);
    ++recorded;
  }
  context.connection.exec("COMMIT");
  spdlog::info("baseline {}: recorded {} migrations as applied without running them", baseline, recorded);
  context.reread();
}

// A database with tables but no ledger was probably built some other way: say so.
void warn_if_unledgered_tables(MigrationContext& context) {
  const std::string tables = context.connection
                                 .exec("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                                       "('pg_catalog', 'information_schema')")
                                 .value(0, 0);
  if (tables != "0") {
    spdlog::warn("the database has {} tables but no ledger; migrating from the first file (if those tables came from "
                 "these migrations, set AUTO_MIGRATE_BASELINE to the last version they include)",
                 tables);
  }
}

std::size_t apply_pending(MigrationContext& context, const Plan& plan) {
  const RunSettings settings{context.config.db_lock_retries, context.config.statement_timeout};
  configure_session(context.connection, context.config.db_lock_timeout, context.config.statement_timeout);
  for (std::size_t index : plan.pending) {
    const Migration& migration = context.set.migrations[index];
    spdlog::info("applying {}{}", migration.file.file_name,
                 migration.script.mode == TransactionMode::none ? " (no transaction)" : "");
    const long long ms = apply_migration(context.connection, context.ledger, context.info, migration, settings);
    spdlog::info("applied {} in {} ms", migration.file.file_name, ms);
  }
  return plan.pending.size();
}

} // namespace

MigrateOutcome migrate(const Config& config) {
  const auto started = Clock::now();
  MigrationContext context(config);
  const std::size_t total = context.set.migrations.size();
  const bool baseline_due = config.baseline && context.rows.empty();

  // Fast path: a hundred replicas restarting cost a hundred small reads, and no lock.
  if (!baseline_due) {
    const Plan plan = context.plan();
    const SafetyReport report = context.check(plan);
    if (plan.pending.empty() || !report.errors.empty()) {
      enforce(report);
      spdlog::info("database is up to date ({} migrations)", total);
      return {0, total};
    }
    spdlog::info("{} pending migrations", plan.pending.size());
  }

  const auto lock = context.lock();
  if (!context.info.exists() && !config.baseline) warn_if_unledgered_tables(context);
  context.info = context.ledger.ensure(context.info);
  context.reread(); // another replica may have done the work while this one waited
  if (config.baseline && context.rows.empty()) record_baseline(context, *config.baseline);
  const Plan plan = context.plan();
  enforce(context.check(plan));
  const auto applying = Clock::now();
  const std::size_t applied = apply_pending(context, plan);
  lock->release();

  if (applied == 0) {
    spdlog::info("database is up to date ({} migrations; another instance applied them)", total);
  } else {
    spdlog::info("applied {} migrations in {} ms ({} ms in all, with connecting and waiting)", applied,
                 ms_since(applying), ms_since(started));
  }
  return {applied, total};
}

} // namespace migrate_init
