#include "migrate/migrator.hpp"

#include "lock_key.hpp"
#include "migrate/discovery.hpp"
#include "migrate/ledger.hpp"
#include "migrate/planner.hpp"
#include "migrate/runner.hpp"
#include "pg/advisory_lock.hpp"
#include "pg/connect.hpp"
#include "version.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace migrate_init {
namespace {

using Clock = std::chrono::steady_clock;

void warn_database_ahead(const Plan& plan, const LedgerName& ledger) {
  for (const auto& row : plan.without_file) {
    spdlog::warn("{} records migration {}_{}, which has no file here (the database is ahead of this image)",
                 ledger.display(), row.version, row.name);
  }
}

std::size_t apply_pending(pg::Connection& connection, Ledger& ledger, const LedgerInfo& info,
                          const MigrationSet& set, const Plan& plan) {
  for (std::size_t index : plan.pending) {
    const Migration& migration = set.migrations[index];
    spdlog::info("applying {}", migration.file.file_name);
    const long long ms = apply_migration(connection, ledger, info, migration);
    spdlog::info("applied {} in {} ms", migration.file.file_name, ms);
  }
  return plan.pending.size();
}

} // namespace

MigrateOutcome migrate(const Config& config) {
  const auto started = Clock::now();
  const MigrationSet set = load_migrations(config.migrations_dir);
  const auto files = set.file_names();
  spdlog::info("migrate-init {}: {} migrations in {}; connecting to {}", k_version, files.size(),
               config.migrations_dir.string(),
               config.database_url.empty() ? "the database named by PG* variables" : config.database_url);

  pg::Connection connection = pg::connect_with_wait(
      {config.database_url, config.database_url_source, config.wait, pg::default_application_name()});
  Ledger ledger(connection, config.ledger);
  LedgerInfo info = ledger.inspect();

  // Fast path: a hundred replicas restarting cost a hundred small reads, and no lock.
  Plan plan = plan_migrations(files, ledger.read(info));
  if (plan.pending.empty()) {
    warn_database_ahead(plan, config.ledger);
    spdlog::info("database is up to date ({} migrations)", files.size());
    return {0, files.size()};
  }

  const std::int64_t key = config.lock_key.value_or(derive_lock_key(info.database, info.schema, config.ledger.table));
  spdlog::info("{} pending migrations; taking the migration lock (key {})", plan.pending.size(), key);
  // Let the server notice a vanished lock holder within seconds: its lock then drops.
  connection.exec("SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3");
  pg::AdvisoryLock lock(connection, key, config.lock_timeout);

  // Another replica may have done the work while this one waited.
  info = ledger.ensure(info);
  plan = plan_migrations(files, ledger.read(info));
  warn_database_ahead(plan, config.ledger);
  const auto applying = Clock::now();
  const std::size_t applied = apply_pending(connection, ledger, info, set, plan);
  lock.release();

  const auto ms = [](auto since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
  };
  if (applied == 0) {
    spdlog::info("database is up to date ({} migrations; another instance applied them)", files.size());
  } else {
    spdlog::info("applied {} migrations in {} ms ({} ms in all, with connecting and waiting)", applied, ms(applying),
                 ms(started));
  }
  return {applied, files.size()};
}

} // namespace migrate_init
