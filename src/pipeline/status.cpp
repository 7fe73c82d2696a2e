#include "pipeline/status.hpp"

#include "json.hpp"
#include "log.hpp"
#include "command/command_report.hpp"
#include "sql_files/sql_context.hpp"
#include "text.hpp"

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
  if (entry.unchecked) text += " (no checksum: changes cannot be detected)";
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
    // A row with no checksum (another tool or a psql script wrote it): a change
    // to its file cannot be detected.
    entry.unchecked = file && entry.row && entry.row->finished() && !entry.row->checksum;
  }
  return entries;
}

// The JSON array of every migration's state.
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
    item.add("unchecked", entry.unchecked);
    if (entry.row && !entry.row->finished()) {
      item.add("statements_done", static_cast<long long>(entry.row->statements_done));
      item.add("statements_total", static_cast<long long>(entry.row->statements_total));
      item.add("last_error", entry.row->last_error);
    }
    items.push_back(item.str());
  }
  return json_array(items);
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

// Why a file runs the way it does, for plan.
std::string mode_reason(const Migration& migration) {
  const MigrationScript& script = migration.script();
  if (!script.detected_no_transaction.empty()) return script.detected_no_transaction + " cannot run in a transaction";
  if (script.mode == TransactionMode::none) return "marked no-transaction";
  if (!script.own_transaction_lines.empty()) return "in one transaction with its ledger row; its own BEGIN/COMMIT dropped";
  return "in one transaction with its ledger row";
}

// Whether `migrate` would record this pending file as the baseline instead of running it:
// AUTO_MIGRATE_BASELINE on an empty ledger, and a version up to the baseline's.
bool recorded_as_baseline(const MigrationContext& context, const Migration& migration) {
  return context.config.baseline && context.rows.empty() &&
         compare_versions(migration.file.version, *context.config.baseline) <= 0;
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

namespace {

// One ledger's report: its text, the fields of its JSON object, and its exit code.
struct LedgerReport {
  std::string text;
  JsonObject json;
  ExitCode code = ExitCode::ok;
};

LedgerReport status_report(const MigrationContext& context) {
  const auto entries = entries_of(context);
  LedgerReport report;
  report.text = format_status(entries);
  report.json.add_raw("migrations", status_json(context, entries));
  return report;
}

ExitCode code_of(const SafetyReport& report) {
  if (report.errors.empty()) return ExitCode::ok;
  const bool refused = std::any_of(report.errors.begin(), report.errors.end(),
                                   [](const Problem& p) { return p.code == ExitCode::refused; });
  return refused ? ExitCode::refused : ExitCode::migration_failed;
}

std::string problems_text(const SafetyReport& report) {
  std::string text;
  for (const auto& warning : report.warnings) text += "warning: " + warning + "\n";
  for (const auto& problem : report.errors) text += "problem: " + problem.message + "\n";
  return text;
}

LedgerReport plan_report(const MigrationContext& context) {
  const Plan plan = context.plan();
  const SafetyReport safety = context.check(plan);
  LedgerReport report;
  std::vector<std::string> items;
  if (plan.pending.empty()) {
    report.text = "nothing to apply (" + std::to_string(context.set.migrations.size()) + " migrations)\n";
  }
  for (std::size_t index : plan.pending) {
    const Migration& m = context.set.migrations[index];
    const bool baseline = recorded_as_baseline(context, m);
    const std::string mode = baseline ? "baseline" : mode_name(m);
    report.text += m.file.file_name + "  " + m.checksum + "  " +
                   (baseline ? "baseline (recorded as applied, not run: AUTO_MIGRATE_BASELINE)"
                             : mode + " (" + mode_reason(m) + ")") +
                   "\n";
    items.push_back(JsonObject()
                        .add("version", m.file.version)
                        .add("name", m.file.name)
                        .add("file", m.file.file_name)
                        .add("checksum", m.checksum)
                        .add("mode", mode)
                        .add("why", baseline ? std::string("AUTO_MIGRATE_BASELINE") : mode_reason(m))
                        .add("statements", static_cast<long long>(baseline ? 0 : m.script().up_statements.size()))
                        .str());
  }
  report.text += problems_text(safety);
  report.json.add_raw("pending", json_array(items)).add_raw("report", problems_json(safety));
  report.code = code_of(safety);
  return report;
}

LedgerReport verify_report(const MigrationContext& context) {
  const Plan plan = context.plan();
  SafetyReport safety = context.check(plan);
  for (std::size_t index : plan.pending) {
    safety.errors.push_back({ExitCode::refused, context.set.migrations[index].file.file_name + " is not applied"});
  }
  const auto entries = entries_of(context);
  std::vector<std::string> ids, versions;
  for (const auto& entry : entries) {
    if (!entry.unchecked) continue;
    ids.push_back(entry.version + "_" + entry.name);
    versions.push_back(entry.version);
  }
  if (!ids.empty()) {
    safety.warnings.push_back(joined(ids) + " cannot be checked for changes: their ledger rows have no checksum "
                              "(another tool or a psql script wrote them); if these files are the ones that "
                              "were applied, `migrate-init repair --checksums` records their checksums");
  }
  LedgerReport report;
  report.text = problems_text(safety);
  const std::string files = std::to_string(context.set.migrations.size());
  if (safety.errors.empty() && ids.empty()) {
    report.text += "ok: the database matches the " + files + " migration files\n";
  } else if (safety.errors.empty()) {
    report.text += "ok: every migration file is applied; " + std::to_string(ids.size()) + " of the " + files + " (" +
                   joined(versions) + ") cannot be checked for changes\n";
  }
  report.json.add("ok", safety.errors.empty())
      .add_raw("unchecked", json_string_array(versions))
      .add_raw("report", problems_json(safety));
  report.code = safety.errors.empty() ? ExitCode::ok : ExitCode::refused;
  return report;
}

// The exit code of two reports together: refused (5) outranks a failure (1), which
// outranks ok.
ExitCode worse(ExitCode a, ExitCode b) {
  if (a == ExitCode::refused || b == ExitCode::refused) return ExitCode::refused;
  return a != ExitCode::ok ? a : b;
}

// Prints the report of every ledger the configuration covers and returns the worst exit
// code. Without tenants the output is the one ledger's report; with tenants, each tenant's
// text under a "tenant <schema>:" heading, and JSON as {"tenants": [{"schema", ...}]}.
int print_reports(const Config& config, LedgerReport (*report_of)(const MigrationContext&)) {
  std::string text;
  JsonObject single;
  std::vector<std::string> tenants;
  ExitCode worst = ExitCode::ok;
  for_each_ledger(config, [&](const std::string& schema, MigrationContext& context) {
    const LedgerReport report = report_of(context);
    worst = worse(worst, report.code);
    if (schema.empty()) {
      text = report.text;
      single = report.json;
      return;
    }
    text += (text.empty() ? "" : "\n") + std::string("tenant ") + schema + ":\n" + report.text;
    tenants.push_back(JsonObject().add("schema", schema).add_fields(report.json).str());
  });
  std::string out;
  if (!has_tenants(config)) {
    out = config.json ? single.str() + "\n" : text;
  } else if (config.json) {
    out = JsonObject().add("ok", worst == ExitCode::ok).add_raw("tenants", json_array(tenants)).str() + "\n";
  } else {
    out = tenants.empty() ? "no tenant schemas\n" : text;
  }
  // Masked like the log: a ledger's last_error, or a problem quoting it, may hold a
  // password (one stored by an older migrate-init, which did not mask it).
  std::cout << redact_with_log_secrets(out) << std::flush;
  return to_int(worst);
}

} // namespace

int print_status(const Config& config) {
  if (config.command_mode()) return print_command_report(config);
  print_reports(config, status_report);
  return 0;
}

int print_plan(const Config& config) {
  return config.command_mode() ? print_command_report(config) : print_reports(config, plan_report);
}

int print_verify(const Config& config) {
  return config.command_mode() ? print_command_report(config) : print_reports(config, verify_report);
}

} // namespace migrate_init
