#include "migrate/migrator.hpp"

#include "log.hpp"
#include "migrate/context.hpp"
#include "migrate/runner.hpp"
#include "process/signal_channel.hpp"
#include "text.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

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
  try {
    for (const auto& migration : context.set.migrations) {
      if (compare_versions(migration.file.version, baseline) > 0) break;
      context.ledger.record_baseline(context.info, migration);
      ++recorded;
    }
    context.connection.exec("COMMIT");
  } catch (...) {
    if (context.connection.in_transaction()) context.connection.exec("ROLLBACK");
    throw;
  }
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

// One ledger: fast path, lock, re-read, apply, unlock. Adds to `outcome` as it goes.
void migrate_ledger(MigrationContext& context, MigrateOutcome& outcome, const std::optional<std::string>& tenant) {
  const Config& config = context.config;
  const auto started = Clock::now();
  const std::size_t total = context.set.migrations.size();
  const bool baseline_due = config.baseline && context.rows.empty();

  // Fast path: a hundred replicas restarting cost a hundred small reads, and no lock.
  // An unfinished row may be another replica's no-transaction migration in progress: only
  // under the lock can it be told apart from one that stopped, so it takes the lock path.
  const bool unfinished = std::any_of(context.rows.begin(), context.rows.end(),
                                      [](const LedgerRow& row) { return !row.finished(); });
  if (!baseline_due && !unfinished) {
    const Plan plan = context.plan();
    const SafetyReport report = context.check(plan);
    if (plan.pending.empty() || !report.errors.empty()) {
      enforce(report);
      outcome.already_applied += total;
      spdlog::info("database is up to date ({})", counted(static_cast<long long>(total), "migration", "migrations"));
      return;
    }
    spdlog::info("{} pending", counted(static_cast<long long>(plan.pending.size()), "migration", "migrations"));
  }

  const auto waiting = Clock::now();
  // Woken by the holder's release: re-read the ledger without the lock, and skip the lock
  // entirely when the holder did everything (32 waiters then finish at once, not in turn).
  const auto lock = context.lock([&] {
    context.info = context.ledger.inspect(); // the holder may have created the ledger
    context.reread();
    const bool done = context.plan().pending.empty() &&
                      std::all_of(context.rows.begin(), context.rows.end(), [](const LedgerRow& row) { return row.finished(); });
    return !done;
  });
  outcome.lock_wait_ms += ms_since(waiting);
  if (!lock->held()) {
    enforce(context.check(context.plan()));
    outcome.already_applied += total;
    spdlog::info("database is up to date ({}; another instance applied them)",
                 counted(static_cast<long long>(total), "migration", "migrations"));
    return;
  }
  if (!context.info.exists() && !config.baseline) warn_if_unledgered_tables(context, tenant);
  context.info = context.ledger.ensure(context.info, !context.info.exists() && files_keep_the_ledger(context));
  context.reread(); // another replica may have done the work while this one waited
  if (config.baseline && context.rows.empty()) record_baseline(context, *config.baseline);
  const Plan plan = context.plan();
  enforce(context.check(plan));
  refuse_plain_self_records(context, plan);
  outcome.already_applied += total - plan.pending.size();
  const auto applying = Clock::now();
  apply_pending(context, plan, outcome);
  lock->release();

  if (plan.pending.empty()) {
    spdlog::info("database is up to date ({}; another instance applied them)",
                 counted(static_cast<long long>(total), "migration", "migrations"));
  } else {
    spdlog::info("applied {} in {} ms ({} ms in all, with connecting and waiting)",
                 counted(static_cast<long long>(plan.pending.size()), "migration", "migrations"), ms_since(applying),
                 ms_since(started));
  }
}

// Every tenant schema in turn, each with search_path set to it, its own ledger and its
// own lock key; one tenant's failure does not stop the others.
void migrate_tenants(const Config& config, Session& session, MigrateOutcome& outcome) {
  const auto schemas = tenant_schemas(config, session);
  if (schemas.empty()) {
    // A first deployment may have no tenants yet; a query that went wrong looks the same.
    const std::string message = "AUTO_MIGRATE_SCHEMAS_QUERY returned no schemas: no tenant was migrated";
    if (config.fail_on_error) throw Error(ExitCode::migration_failed, message + " (AUTO_MIGRATE_FAIL_ON_ERROR=true)");
    spdlog::warn("{}", message);
  }
  std::size_t migrated = 0, up_to_date = 0;
  std::vector<std::string> failed;
  std::optional<ExitCode> failure_code;
  for (const auto& schema : schemas) {
    spdlog::info("tenant {}: migrating", schema);
    ++outcome.tenants;
    outcome.total += outcome.files;
    try {
      enter_tenant_schema(session, schema);
      MigrationContext context(config, session, LedgerName{schema, config.ledger.table});
      const std::size_t applied_before = outcome.applied;
      migrate_ledger(context, outcome, schema);
      ++(outcome.applied > applied_before ? migrated : up_to_date);
    } catch (const Interrupted&) {
      throw;
    } catch (const Error& e) {
      log_event(spdlog::level::err, "tenant.failed", "tenant " + schema + ": " + e.what(),
                {{"tenant", schema}, {"error", std::string(e.what())}});
      failed.push_back(schema);
      if (!failure_code) failure_code = e.code();
    }
  }
  std::string failed_names;
  for (const auto& name : failed) failed_names += (failed_names.empty() ? "" : ", ") + name;
  log_event(spdlog::level::info, "tenants.done",
            fmt::format("tenants: {} migrated, {} skipped (up to date), {} failed{}", migrated, up_to_date,
                        failed.size(), failed.empty() ? "" : " (" + failed_names + ")"),
            {{"migrated", static_cast<long long>(migrated)},
             {"skipped", static_cast<long long>(up_to_date)},
             {"failed", static_cast<long long>(failed.size())},
             {"failed_tenants", failed_names}});
  if (failure_code) {
    throw Error(*failure_code, std::to_string(failed.size()) + " of " + std::to_string(schemas.size()) +
                                   " tenants failed: " + failed_names);
  }
}

} // namespace

void migrate(const Config& config, MigrateOutcome& outcome) {
  MigrationSet files = load_migrations(config.migrations_dir);
  outcome.files = files.migrations.size();
  Session session(config, std::move(files));
  if (has_tenants(config)) return migrate_tenants(config, session, outcome);
  outcome.total = outcome.files;
  MigrationContext context(config, session, config.ledger);
  migrate_ledger(context, outcome, std::nullopt);
}

} // namespace migrate_init
