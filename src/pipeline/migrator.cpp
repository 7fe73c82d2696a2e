#include "pipeline/migrator.hpp"

#include "log.hpp"
#include "command/command_engine.hpp"
#include "pipeline/files_while_connecting.hpp"
#include "pipeline/session.hpp"
#include "sql_files/discovery.hpp"
#include "pipeline/engine.hpp"
#include "sql_files/sql_engine.hpp"
#include "process/signal_channel.hpp"
#include "text.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <system_error>
#include <optional>

namespace migrate_init {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// The one place that knows which engines exist. `files` are the .sql engine's (read before
// connecting, to count them even when connecting fails); empty in command mode.
// `alembic_files`: command mode's, read while connecting (below).
std::unique_ptr<MigrationEngine> make_engine(const Config& config, Session& session, const MigrationSet& files,
                                             const std::optional<std::string>& tenant,
                                             const std::optional<std::optional<AlembicFiles>>& alembic_files) {
  if (config.command_mode()) return std::make_unique<CommandEngine>(config, session, tenant, alembic_files);
  return std::make_unique<SqlEngine>(config, session, files, tenant);
}

// One ledger, whatever the engine: fast path, lock, re-check, apply, unlock. Adds to
// `outcome` as it goes.
void migrate_ledger(MigrationEngine& engine, MigrateOutcome& outcome) {
  const auto started = Clock::now();
  // Fast path: a hundred replicas restarting cost a hundred small reads, and no lock.
  if (engine.up_to_date(outcome)) {
    spdlog::info("database is up to date ({})", engine.up_to_date_detail());
    return;
  }
  const auto waiting = Clock::now();
  // Woken by the holder's release: re-read without the lock, and skip the lock entirely
  // when the holder did everything (32 waiters then finish at once, not in turn).
  const auto lock = engine.lock([&](const std::string& holder_note) { return engine.still_needed(holder_note); });
  outcome.lock_wait_ms += ms_since(waiting);
  if (!lock->held()) {
    engine.done_by_another(outcome);
    spdlog::info("database is up to date ({}; another instance applied them)", engine.up_to_date_detail());
    return;
  }
  const auto applying = Clock::now();
  EngineWork work;
  try {
    work = engine.apply(outcome);
  } catch (const Error&) {
    lock->release(engine.failure_note());
    throw;
  }
  lock->release(work.holder_note);
  if (!work.did_work) {
    spdlog::info("database is up to date ({}; another instance applied them)", engine.up_to_date_detail());
  } else {
    spdlog::info("{} in {} ms ({} ms in all, with connecting and waiting)", work.what, ms_since(applying),
                 ms_since(started));
  }
}

// Every tenant schema in turn, each with search_path set to it, its own ledger and its
// own lock key; one tenant's failure does not stop the others.
void migrate_tenants(const Config& config, Session& session, const MigrationSet& files,
                     const std::optional<std::optional<AlembicFiles>>& alembic_files, MigrateOutcome& outcome) {
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
      const auto engine = make_engine(config, session, files, schema, alembic_files);
      const std::size_t applied_before = outcome.applied;
      migrate_ledger(*engine, outcome);
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

// Every ledger of the run on `session`: each tenant's, or the one ledger.
void migrate_ledgers(const Config& config, Session& session, const MigrationSet& files,
                     const std::optional<std::optional<AlembicFiles>>& alembic_files, MigrateOutcome& outcome) {
  if (has_tenants(config)) return migrate_tenants(config, session, files, alembic_files, outcome);
  outcome.total = outcome.files;
  const auto engine = make_engine(config, session, files, std::nullopt, alembic_files);
  migrate_ledger(*engine, outcome);
}

// From how many revision files a thread reads them while connecting. Interleaved, an
// up-to-date project's no-op start (bench/static.sh (d)'s set, static build, 2 cores):
// 100 revisions read before connecting took 0.96-0.98x as long as on a thread; 1000 took
// 1.22x. A small set's reading costs less than the thread's own start and its contention
// with the connection's work; a large one's is worth overlapping.
constexpr std::size_t k_alembic_files_worth_a_thread = 200;

} // namespace

void migrate(const Config& config, MigrateOutcome& outcome) {
  if (!config.command_mode()) {
    // Listed before connecting (the start line counts the files); checksummed meanwhile.
    MigrationListing listing = list_migrations(config.migrations_dir);
    outcome.files = listing.files.size();
    auto [files, session] = checksum_while_connecting(config, std::move(listing));
    return migrate_ledgers(config, session, files, std::nullopt, outcome);
  }
  // A migrator's directory holds its own files (.py, .js): only the .sql engine lists it.
  outcome.files = 1;
  // An Alembic project's revision files are read before the engines need them: a few
  // serially before connecting, many on another thread while this one connects (a no-op
  // start spends most of its connection waiting for the server). When the reading fails
  // (or no thread is to be had), each engine reads them itself, as before, and reports a
  // file's error as its own failure (per tenant), after connecting.
  std::optional<std::optional<AlembicFiles>> alembic_files; // unset: not read yet
  std::future<AlembicFiles> reading;
  try {
    std::optional<alembic::Project> project = find_alembic_project(config);
    if (!project) {
      alembic_files.emplace(); // read: nothing to compare
    } else if (auto listing = alembic::list_revisions(*project); listing.files.size() < k_alembic_files_worth_a_thread) {
      alembic_files = read_alembic_files(std::move(*project), std::move(listing));
    } else {
      spdlog::debug("reading {} Alembic revision files on a thread while connecting", listing.files.size());
      reading = std::async(std::launch::async, [project = std::move(*project), listing = std::move(listing)]() mutable {
        return read_alembic_files(std::move(project), std::move(listing));
      });
    }
  } catch (const std::system_error& e) {
    spdlog::debug("the Alembic files are read after connecting: {}", e.what());
  } catch (const std::exception&) {
  }
  Session session(config, 0);
  try {
    if (reading.valid()) alembic_files = reading.get();
  } catch (const std::exception&) {
  }
  migrate_ledgers(config, session, MigrationSet{}, alembic_files, outcome);
}

} // namespace migrate_init
