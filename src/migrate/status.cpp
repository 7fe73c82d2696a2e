#include "migrate/status.hpp"

#include "json.hpp"
#include "migrate/context.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <iostream>

namespace migrate_init {
namespace {

std::string applied_column(const StatusEntry& entry) {
  if (entry.row && !entry.row->finished()) {
    return fmt::format("unfinished: {} of {} statements done", entry.row->statements_done, entry.row->statements_total);
  }
  std::string text = entry.applied_at.value_or("pending");
  if (entry.file_changed) text += " (file changed since)";
  if (entry.file_missing) text += " (no file here)";
  return text;
}

std::string state_of(const StatusEntry& entry) {
  if (!entry.row) return "pending";
  return entry.row->finished() ? "applied" : "unfinished";
}

// Status entries with the files' checksums compared to the ledger's.
std::vector<StatusEntry> entries_of(const MigrationContext& context) {
  auto entries = status_entries(context.set.file_names(), context.rows);
  for (auto& entry : entries) {
    const Migration* file = entry.file_missing ? nullptr : context.find(entry.version);
    entry.file_changed = file && entry.row && entry.row->finished() && entry.row->checksum &&
                         *entry.row->checksum != file->checksum;
  }
  return entries;
}

std::string status_json(const MigrationContext& context, const std::vector<StatusEntry>& entries) {
  std::vector<std::string> items;
  for (const auto& entry : entries) {
    const Migration* file = entry.file_missing ? nullptr : context.find(entry.version);
    JsonObject item;
    item.add("version", entry.version).add("name", entry.name).add("state", state_of(entry));
    item.add("applied_at", entry.applied_at);
    item.add("checksum", file ? std::optional(file->checksum) : std::nullopt);
    item.add("ledger_checksum", entry.row ? entry.row->checksum : std::nullopt);
    item.add("file_changed", entry.file_changed).add("file_missing", entry.file_missing);
    if (entry.row && !entry.row->finished()) {
      item.add("statements_done", static_cast<long long>(entry.row->statements_done));
      item.add("statements_total", static_cast<long long>(entry.row->statements_total));
      item.add("last_error", entry.row->last_error);
    }
    items.push_back(item.str());
  }
  return JsonObject().add_raw("migrations", json_array(items)).str() + "\n";
}

std::string problems_json(const SafetyReport& report) {
  std::vector<std::string> errors, warnings;
  for (const auto& problem : report.errors) errors.push_back(json_quote(problem.message));
  for (const auto& warning : report.warnings) warnings.push_back(json_quote(warning));
  return JsonObject().add_raw("problems", json_array(errors)).add_raw("warnings", json_array(warnings)).str();
}

const char* mode_name(const Migration& migration) {
  return migration.script().mode == TransactionMode::none ? "no-transaction" : "transaction";
}

} // namespace

std::string format_status(const std::vector<StatusEntry>& entries) {
  std::size_t version_width = 7, name_width = 4;
  for (const auto& entry : entries) {
    version_width = std::max(version_width, entry.version.size());
    name_width = std::max(name_width, entry.name.size());
  }
  const auto row = [&](const std::string& version, const std::string& name, const std::string& applied) {
    return version + std::string(version_width - version.size() + 2, ' ') + name +
           std::string(name_width - name.size() + 2, ' ') + applied + "\n";
  };
  std::string out = row("VERSION", "NAME", "APPLIED");
  for (const auto& entry : entries) out += row(entry.version, entry.name, applied_column(entry));
  return out;
}

int print_status(const Config& config) {
  const MigrationContext context(config);
  const auto entries = entries_of(context);
  std::cout << (config.json ? status_json(context, entries) : format_status(entries)) << std::flush;
  return 0;
}

int print_plan(const Config& config) {
  const MigrationContext context(config);
  const Plan plan = context.plan();
  const SafetyReport report = context.check(plan);
  if (config.json) {
    std::vector<std::string> items;
    for (std::size_t index : plan.pending) {
      const Migration& m = context.set.migrations[index];
      items.push_back(JsonObject()
                          .add("version", m.file.version)
                          .add("name", m.file.name)
                          .add("file", m.file.file_name)
                          .add("checksum", m.checksum)
                          .add("mode", mode_name(m))
                          .add("statements", static_cast<long long>(m.script().up_statements.size()))
                          .str());
    }
    std::cout << JsonObject().add_raw("pending", json_array(items)).add_raw("report", problems_json(report)).str() << "\n";
  } else {
    if (plan.pending.empty()) std::cout << "nothing to apply (" << context.set.migrations.size() << " migrations)\n";
    for (std::size_t index : plan.pending) {
      const Migration& m = context.set.migrations[index];
      std::cout << m.file.file_name << "  " << m.checksum << "  " << mode_name(m) << "\n";
    }
    for (const auto& warning : report.warnings) std::cout << "warning: " << warning << "\n";
    for (const auto& problem : report.errors) std::cout << "problem: " << problem.message << "\n";
  }
  std::cout << std::flush;
  if (report.errors.empty()) return 0;
  const bool refused = std::any_of(report.errors.begin(), report.errors.end(),
                                   [](const Problem& p) { return p.code == ExitCode::refused; });
  return to_int(refused ? ExitCode::refused : ExitCode::migration_failed);
}

int print_verify(const Config& config) {
  const MigrationContext context(config);
  const Plan plan = context.plan();
  SafetyReport report = context.check(plan);
  for (std::size_t index : plan.pending) {
    report.errors.push_back({ExitCode::refused, context.set.migrations[index].file.file_name + " is not applied"});
  }
  if (config.json) {
    std::cout << JsonObject().add("ok", report.errors.empty()).add_raw("report", problems_json(report)).str() << "\n";
  } else {
    for (const auto& warning : report.warnings) std::cout << "warning: " << warning << "\n";
    for (const auto& problem : report.errors) std::cout << "problem: " << problem.message << "\n";
    if (report.errors.empty()) {
      std::cout << "ok: the database matches the " << context.set.migrations.size() << " migration files\n";
    }
  }
  std::cout << std::flush;
  return to_int(report.errors.empty() ? ExitCode::ok : ExitCode::refused);
}

} // namespace migrate_init
