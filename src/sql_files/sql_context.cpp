#include "sql_files/sql_context.hpp"

#include "error.hpp"

#include <spdlog/spdlog.h>

#include <tuple>

namespace migrate_init {

MigrationContext::MigrationContext(const Config& config_)
    : m_own_files(std::make_unique<MigrationSet>(load_migrations(config_.migrations_dir))),
      m_own_session(std::make_unique<Session>(config_, m_own_files->migrations.size())), config(config_),
      set(*m_own_files), connection(m_own_session->connection), ledger(connection, config.ledger) {
  std::tie(info, rows) = ledger.inspect_and_read();
}

MigrationContext::MigrationContext(const Config& config_, Session& session, const MigrationSet& files,
                                   LedgerName ledger_name)
    : config(config_), set(files), connection(session.connection), ledger(connection, std::move(ledger_name)) {
  std::tie(info, rows) = ledger.inspect_and_read();
}

std::unique_ptr<pg::AdvisoryLock> MigrationContext::lock(const pg::AdvisoryLock::StillNeeded& still_needed) {
  return take_migration_lock(config, connection, migration_lock_key(config, info.database, info.schema, ledger.name()),
                             still_needed);
}

void MigrationContext::reread() { rows = ledger.read(info); }

SafetyReport MigrationContext::check(const Plan& plan) const {
  return check_safety(set.migrations, rows, plan, {config.allow_drift, config.allow_out_of_order});
}

const Migration* MigrationContext::find(const std::string& version) const {
  for (const auto& migration : set.migrations) {
    if (compare_versions(migration.file.version, version) == 0) return &migration;
  }
  return nullptr;
}

void enforce(const SafetyReport& report) {
  for (const auto& warning : report.warnings) spdlog::warn("{}", warning);
  if (report.errors.empty()) return;
  if (report.errors.size() == 1) throw Error(report.errors[0].code, report.errors[0].message);
  ExitCode code = ExitCode::migration_failed;
  for (const auto& problem : report.errors) {
    spdlog::error("{}", problem.message);
    if (problem.code == ExitCode::refused) code = ExitCode::refused;
  }
  throw Error(code, "not migrating: " + std::to_string(report.errors.size()) + " problems (listed above)");
}

void for_each_ledger(const Config& config,
                     const std::function<void(const std::string& schema, MigrationContext& context)>& visit) {
  if (!has_tenants(config)) {
    MigrationContext context(config);
    visit("", context);
    return;
  }
  const MigrationSet files = load_migrations(config.migrations_dir);
  Session session(config, files.migrations.size());
  for (const auto& schema : tenant_schemas(config, session)) {
    enter_tenant_schema(session, schema);
    MigrationContext context(config, session, files, LedgerName{schema, config.ledger.table});
    visit(schema, context);
  }
}

} // namespace migrate_init
