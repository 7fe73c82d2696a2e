#include "pipeline/boot_contract.hpp"

#include "command/command_engine.hpp"
#include "pipeline/session.hpp"
#include "sql_files/sql_context.hpp"
#include "process/signal_channel.hpp"
#include "text.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace migrate_init {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool is_applied(const std::vector<LedgerRow>& ledger, const std::string& version, const std::string* name) {
  return std::any_of(ledger.begin(), ledger.end(), [&](const LedgerRow& row) {
    return row.finished() && compare_versions(row.version, version) == 0 && (!name || row.name == *name);
  });
}

void wait_for_schema(MigrationContext& context, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto next_log = Clock::now();
  milliseconds delay{100};
  for (;;) {
    const auto gaps = schema_gaps(context.set.migrations, context.rows);
    if (gaps.empty()) {
      spdlog::info("the schema is complete ({} applied)",
                   counted(static_cast<long long>(context.set.migrations.size()), "migration", "migrations"));
      return;
    }
    if (Clock::now() >= deadline) {
      throw Error(ExitCode::refused,
                  fmt::format("gave up waiting for the schema after {:g} s (AUTO_MIGRATE_WAIT_FOR_SCHEMA); still not "
                              "applied: {}",
                              static_cast<double>(timeout.count()) / 1000.0, joined(gaps)));
    }
    if (Clock::now() >= next_log) {
      spdlog::info("waiting for another instance to migrate; not applied yet: {}", joined(gaps));
      next_log = Clock::now() + std::chrono::seconds(5);
    }
    interruptible_sleep(std::min(delay, std::chrono::duration_cast<milliseconds>(deadline - Clock::now())),
                        "waiting for the schema");
    delay = std::min(milliseconds(1000), delay * 2);
    context.info = context.ledger.inspect();
    context.reread();
  }
}

// The boot contract in command mode: "applied" is what the fast path knows (Alembic at
// head, or the migrator's last success with these files).
void enforce_command_contract(const Config& config, bool waits) {
  Session session(config, 0);
  CommandEngine engine(config, session, std::nullopt);
  auto reason = engine.pending_reason();
  if (waits) {
    const auto deadline = Clock::now() + config.wait_for_schema;
    auto next_log = Clock::now();
    milliseconds delay{100};
    while (reason) {
      if (Clock::now() >= deadline) {
        throw Error(ExitCode::refused,
                    fmt::format("gave up waiting for the schema after {:g} s (AUTO_MIGRATE_WAIT_FOR_SCHEMA): {}",
                                static_cast<double>(config.wait_for_schema.count()) / 1000.0, *reason));
      }
      if (Clock::now() >= next_log) {
        spdlog::info("waiting for another instance to run the migrator: {}", *reason);
        next_log = Clock::now() + std::chrono::seconds(5);
      }
      interruptible_sleep(std::min(delay, std::chrono::duration_cast<milliseconds>(deadline - Clock::now())),
                          "waiting for the schema");
      delay = std::min(milliseconds(1000), delay * 2);
      reason = engine.pending_reason();
    }
    spdlog::info("the schema is complete ({})", engine.up_to_date_detail());
  }
  if (config.required.empty()) return;
  if (reason) {
    // A revision these files lack is not a missing migration: this image cannot tell what it is.
    throw Error(ExitCode::refused, std::string(engine.at_unknown_revision() ? "the database is at a revision this "
                                                                              "image does not know"
                                                                            : "database migrations missing") +
                                       " (AUTO_MIGRATE_REQUIRED=all): " + *reason);
  }
  spdlog::info("required migrations are applied ({})", engine.up_to_date_detail());
}

} // namespace

std::vector<std::string> missing_required(const std::vector<std::string>& required,
                                          const std::vector<MigrationFileName>& files,
                                          const std::vector<LedgerRow>& ledger) {
  std::vector<std::string> missing;
  for (const auto& item : required) {
    if (item == "all") {
      for (const auto& file : files) {
        if (!is_applied(ledger, file.version, &file.name)) missing.push_back(file.id());
      }
    } else if (const auto named = parse_migration_file_name(item + ".sql")) {
      if (!is_applied(ledger, named->version, &named->name)) missing.push_back(item);
    } else if (!is_applied(ledger, item, nullptr)) {
      missing.push_back(item);
    }
  }
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  return missing;
}

std::vector<std::string> schema_gaps(const std::vector<Migration>& migrations, const std::vector<LedgerRow>& ledger) {
  std::vector<std::string> gaps;
  for (const auto& migration : migrations) {
    const bool done = std::any_of(ledger.begin(), ledger.end(), [&](const LedgerRow& row) {
      return row.finished() && compare_versions(row.version, migration.file.version) == 0 &&
             (!row.checksum || *row.checksum == migration.checksum);
    });
    if (!done) gaps.push_back(migration.file.id());
  }
  return gaps;
}

void enforce_boot_contract(const Config& config) {
  const bool waits = !config.auto_migrate && config.wait_for_schema.count() > 0;
  if (!waits && config.required.empty()) return;
  if (config.command_mode()) return enforce_command_contract(config, waits);
  MigrationContext context(config);
  if (waits) wait_for_schema(context, config.wait_for_schema);
  if (config.required.empty()) return;
  const auto missing = missing_required(config.required, context.set.file_names(), context.rows);
  if (!missing.empty()) throw Error(ExitCode::refused, "database migrations missing: " + joined(missing));
  spdlog::info("required migrations are applied");
}

} // namespace migrate_init
