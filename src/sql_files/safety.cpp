#include "sql_files/safety.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <map>

namespace migrate_init {
namespace {

// A version migrate-init could have written: digits, as in file names.
bool is_version(const std::string& version) {
  return !version.empty() && version.find_first_not_of("0123456789") == std::string::npos;
}

const LedgerRow* newest_row(const std::vector<LedgerRow>& ledger) {
  const LedgerRow* newest = nullptr;
  for (const auto& row : ledger) {
    if (!is_version(row.version)) continue; // reported once by check_foreign_rows
    if (!newest || compare_versions(row.version, newest->version) > 0) newest = &row;
  }
  return newest;
}

// Rows another tool (or a hand) wrote: their versions order against nothing, so every
// pending file would otherwise be reported as out of order behind them.
void check_foreign_rows(const std::vector<LedgerRow>& ledger, SafetyReport& report) {
  for (const auto& row : ledger) {
    if (is_version(row.version)) continue;
    report.errors.push_back(
        {ExitCode::refused,
         fmt::format("the ledger has a row with version \"{}\", which is not a migration version (digits): another "
                     "tool or a hand wrote it; delete that row, or set AUTO_MIGRATE_TABLE to a ledger of migrate-init's own",
                     row.version)});
  }
}

void check_unfinished(const std::vector<LedgerRow>& ledger, SafetyReport& report) {
  for (const auto& row : ledger) {
    if (!row.finished()) report.errors.push_back({ExitCode::refused, unfinished_message(row)});
  }
}

void check_drift(const std::vector<Migration>& migrations, const std::vector<LedgerRow>& ledger,
                 const SafetyOptions& options, SafetyReport& report) {
  std::map<std::string, const LedgerRow*> rows;
  for (const auto& row : ledger) rows.emplace(normalized_version(row.version), &row);
  for (const auto& migration : migrations) {
    const auto found = rows.find(normalized_version(migration.file.version));
    if (found == rows.end() || !found->second->finished() || !found->second->checksum) continue;
    const std::string& recorded = *found->second->checksum;
    if (recorded == migration.checksum) continue;
    const std::string message =
        fmt::format("{} changed after it was applied: the file's checksum is {}, the ledger recorded {}",
                    migration.file.file_name, migration.checksum, recorded);
    if (options.allow_drift) {
      report.warnings.push_back(message + " (allowed by AUTO_MIGRATE_ALLOW_DRIFT)");
    } else {
      report.errors.push_back({ExitCode::refused, message + "; restore the file, or set AUTO_MIGRATE_ALLOW_DRIFT=true"});
    }
  }
}

void check_pending(const std::vector<Migration>& migrations, const std::vector<LedgerRow>& ledger, const Plan& plan,
                   const SafetyOptions& options, SafetyReport& report) {
  const LedgerRow* newest = newest_row(ledger);
  for (std::size_t index : plan.pending) {
    const Migration& migration = migrations[index];
    if (newest && compare_versions(migration.file.version, newest->version) < 0) {
      const std::string message = fmt::format("{} is pending but a later migration, {}_{}, is already applied",
                                              migration.file.file_name, newest->version, newest->name);
      if (options.allow_out_of_order) {
        report.warnings.push_back(message + "; applying it out of order (AUTO_MIGRATE_ALLOW_OUT_OF_ORDER)");
      } else {
        report.errors.push_back({ExitCode::refused, message + " (two branches merged?); renumber it after " +
                                                        newest->version + ", or set AUTO_MIGRATE_ALLOW_OUT_OF_ORDER=true"});
      }
    }
    for (const auto& problem : migration.script().problems) report.errors.push_back({ExitCode::migration_failed, problem});
  }
}

} // namespace

std::string unfinished_message(const LedgerRow& row) {
  const std::string id = row.version + "_" + row.name;
  return fmt::format("migration {} is unfinished: {} of {} statements done{}; run `migrate-init repair {} --retry` to "
                     "resume at statement {}, or `migrate-init repair {} --applied` if you completed it by hand",
                     id, row.statements_done, row.statements_total,
                     row.last_error ? ", then " + *row.last_error : std::string(), row.version,
                     row.statements_done + 1, row.version);
}

SafetyReport check_safety(const std::vector<Migration>& migrations, const std::vector<LedgerRow>& ledger,
                          const Plan& plan, const SafetyOptions& options) {
  SafetyReport report;
  check_foreign_rows(ledger, report);
  check_unfinished(ledger, report);
  check_drift(migrations, ledger, options, report);
  check_pending(migrations, ledger, plan, options, report);
  for (const auto& row : plan.without_file) {
    if (!is_version(row.version)) continue;
    report.warnings.push_back(fmt::format("the ledger records migration {}_{}, which has no file here (the database "
                                          "is ahead of this image)",
                                          row.version, row.name));
  }
  return report;
}

} // namespace migrate_init
