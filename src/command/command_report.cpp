#include "command/command_report.hpp"

#include "exit_code.hpp"
#include "json.hpp"
#include "log.hpp"
#include "command/command_engine.hpp"
#include "text.hpp"

#include <iostream>
#include <set>

namespace migrate_init {
namespace {

// The revisions not yet in the database: every revision but the ones in alembic_version
// and their ancestors (through down_revision and depends_on, as `upgrade` follows both), in
// file order. Pure.
std::vector<std::string> pending_revisions(const alembic::Graph& graph, const std::vector<std::string>& rows) {
  std::set<std::string> applied;
  std::vector<std::string> todo = rows;
  while (!todo.empty()) {
    const std::string id = todo.back();
    todo.pop_back();
    if (!applied.insert(id).second) continue;
    for (const auto& revision : graph.revisions) {
      if (revision.id != id) continue;
      todo.insert(todo.end(), revision.down_revisions.begin(), revision.down_revisions.end());
      todo.insert(todo.end(), revision.depends_on.begin(), revision.depends_on.end());
    }
  }
  std::vector<std::string> pending;
  for (const auto& revision : graph.revisions) {
    if (!applied.count(revision.id)) pending.push_back(revision.id);
  }
  return pending;
}

struct Report {
  std::string text;
  JsonObject json;
  bool up_to_date = false;
};

Report report_of(const Config& config, CommandEngine& engine) {
  Report report;
  const auto reason = engine.pending_reason();
  report.up_to_date = !reason;
  report.json.add("engine", "command").add("command", config.migrate_command_text).add("fast_path", engine.fast_path_kind());
  report.text = "migrator: " + config.migrate_command_text + "\nfast path: " + engine.fast_path_kind() + "\n";
  if (const auto& graph = engine.alembic_graph(); graph && graph->certain) {
    report.text += "heads: " + joined(graph->heads) + "\n";
    report.json.add_raw("heads", json_string_array(graph->heads));
    if (const auto& rows = engine.alembic_rows()) {
      // Ahead: every revision of these files is behind the database's.
      const auto pending = engine.ahead() ? std::vector<std::string>{} : pending_revisions(*graph, *rows);
      report.text += "database: " + (rows->empty() ? std::string("no revision") : joined(*rows)) +
                     (engine.ahead() ? " (ahead of this image)" : "") + "\n";
      report.text += "pending revisions: " + (pending.empty() ? std::string("none") : joined(pending)) + "\n";
      report.json.add_raw("current", json_string_array(*rows)).add_raw("pending_revisions", json_string_array(pending));
      report.json.add("ahead", engine.ahead());
    }
  }
  report.text += reason ? "pending: " + *reason + "\n" : "up to date (" + engine.up_to_date_detail() + ")\n";
  report.json.add("pending", !report.up_to_date).add("reason", reason);
  return report;
}

} // namespace

int print_command_report(const Config& config) {
  Session session(config, 0);
  std::string text;
  std::vector<std::string> tenants;
  JsonObject single;
  bool all_up_to_date = true;
  const auto visit = [&](const std::optional<std::string>& tenant) {
    CommandEngine engine(config, session, tenant);
    const Report report = report_of(config, engine);
    all_up_to_date = all_up_to_date && report.up_to_date;
    if (!tenant) {
      text = report.text;
      single = report.json;
      return;
    }
    text += (text.empty() ? "" : "\n") + std::string("tenant ") + *tenant + ":\n" + report.text;
    tenants.push_back(JsonObject().add("schema", *tenant).add_fields(report.json).str());
  };
  if (has_tenants(config)) {
    for (const auto& schema : tenant_schemas(config, session)) {
      enter_tenant_schema(session, schema);
      visit(schema);
    }
  } else {
    visit(std::nullopt);
  }
  std::string out;
  if (!has_tenants(config)) {
    out = config.json ? single.add("ok", all_up_to_date).str() + "\n" : text;
  } else if (config.json) {
    out = JsonObject().add("ok", all_up_to_date).add_raw("tenants", json_array(tenants)).str() + "\n";
  } else {
    out = tenants.empty() ? "no tenant schemas\n" : text;
  }
  std::cout << redact_with_log_secrets(out) << std::flush;
  if (config.command == Command::verify && !all_up_to_date) return to_int(ExitCode::refused);
  return to_int(ExitCode::ok);
}

} // namespace migrate_init
