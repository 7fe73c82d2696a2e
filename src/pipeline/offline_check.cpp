#include "pipeline/offline_check.hpp"

#include "error.hpp"
#include "exit_code.hpp"
#include "json.hpp"
#include "sql_files/discovery.hpp"
#include "sql_files/migration_file.hpp"
#include "sql_files/migration_script.hpp"
#include "text.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace migrate_init {
namespace {

namespace fs = std::filesystem;

std::string shown(const fs::path& path) { return printable(path.string()); }

// Where a revision is, as its doubts name it.
std::string where_of(const alembic::Revision& revision) {
  return shown(revision.file) + ":" + std::to_string(revision.line);
}

// Whether a migrator command upgrades to `head`, singular: `upgrade head` (alembic, or any
// wrapper passing it on), or Flask-Migrate's `db upgrade` with no revision (its default).
bool upgrades_to_head(const std::vector<std::string>& command) {
  std::vector<std::string> words = command_words(command);
  for (auto& word : words) std::erase_if(word, [](char c) { return c == '\'' || c == '"'; });
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i] != "upgrade") continue;
    if (i + 1 < words.size() && words[i + 1] == "head") return true;
    const bool flask = i > 0 && words[i - 1] == "db";
    if (flask && (i + 1 == words.size() || words[i + 1] == "&&" || words[i + 1] == ";")) return true;
  }
  return false;
}

// "expand (2a3b...), contract (4c5d...)": the deliberate heads by their own labels.
std::string branches_of(const alembic::Graph& graph) {
  std::vector<std::string> out;
  for (const auto& head : graph.heads) {
    const auto& labels = graph.head_labels.at(head);
    if (!labels.empty()) out.push_back(joined(labels) + " (" + head + ")");
  }
  return joined(out);
}

// The findings of a graph with more than one head, only for an otherwise sound graph (a
// dangling down_revision or an unreadable file makes heads of revisions that, fixed, are
// not). A head with a branch label of its own (Graph::head_labels) is a deliberate branch:
// no finding, unless `command` upgrades to `head`, singular, which fails on several heads.
// One without is accidental: a finding for each, with the merge that joins it.
std::vector<CheckFinding> head_findings(const alembic::Graph& graph, const std::vector<std::string>& command) {
  std::vector<CheckFinding> findings;
  if (graph.heads.size() < 2 || !graph.certain) return findings;
  std::vector<std::string> accidental;
  for (const auto& head : graph.heads) {
    if (graph.head_labels.at(head).empty()) accidental.push_back(head);
  }
  const std::string heads = std::to_string(graph.heads.size()) + " heads (" + joined(graph.heads) + ")";
  for (const auto& head : accidental) {
    const auto revision = std::find_if(graph.revisions.begin(), graph.revisions.end(),
                                       [&](const auto& r) { return r.id == head; });
    std::string message = "revision " + head + " is one of " + heads;
    if (accidental.size() == graph.heads.size()) {
      message += ": two developers branched from the same revision; join them with `alembic merge heads` "
                 "(Flask-Migrate: `flask db merge heads`) and commit the merge revision";
    } else {
      std::string ids;
      for (const auto& id : accidental) ids += " " + id;
      message += ", and no branch label of its own makes it a deliberate branch as " + branches_of(graph) +
                 " are: two developers branched from the same revision; " +
                 (accidental.size() > 1 ? "join them with `alembic merge" + ids + "`"
                                        : std::string("join it with the head of the branch it forked from (`alembic "
                                                      "merge " + head + " <that head>`), or give it branch_labels "
                                                      "if it is meant to be a branch")) +
                 " (not `alembic merge heads`, which would join the deliberate branches too)";
    }
    findings.push_back({where_of(*revision), message});
  }
  if (accidental.empty() && upgrades_to_head(command)) {
    findings.push_back({"AUTO_MIGRATE_COMMAND",
                        printable(joined(command, " ")) + " upgrades to head, and the revision files have " + heads +
                            ", deliberate branches " + branches_of(graph) +
                            ": Alembic fails with \"Multiple head revisions\"; upgrade to all of them with "
                            "`alembic upgrade heads` (Flask-Migrate: `flask db upgrade heads`)"});
  }
  return findings;
}

void check_not_directory(const fs::path& dir) {
  std::error_code error;
  const auto status = fs::status(dir, error);
  if (error || !fs::exists(status)) {
    throw Error(ExitCode::migration_failed,
                "migrations directory " + shown(dir) + " does not exist (set AUTO_MIGRATE_DIR or --dir)");
  }
  if (!fs::is_directory(status)) {
    throw Error(ExitCode::migration_failed, "migrations directory " + shown(dir) + " is not a directory");
  }
}

// A "file:line: message" problem of parse_migration_script, split where the message starts.
CheckFinding split_problem(const std::string& file, const std::string& problem) {
  if (problem.starts_with(file + ":")) {
    const std::size_t end = problem.find(": ", file.size());
    if (end != std::string::npos) return {problem.substr(0, end), problem.substr(end + 2)};
  }
  return {file, problem};
}

// Two files whose versions are one number ("007" and "7"): a finding for each, naming the other.
void add_duplicates(const std::vector<MigrationFileName>& names, const fs::path& dir, std::vector<CheckFinding>& out) {
  std::map<std::string, std::vector<std::string>> by_version;
  for (const auto& name : names) by_version[normalized_version(name.version)].push_back(name.file_name);
  for (auto& [version, files] : by_version) {
    if (files.size() < 2) continue;
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::vector<std::string> others;
      for (const auto& other : files) {
        if (other != file) others.push_back(printable(other));
      }
      out.push_back({shown(dir / file), "version " + version + " is also the version of " + joined(others) +
                                            ": two migrations have one version (renumber one)"});
    }
  }
}

// The findings of one migration file: where it resolves to, and what parsing refuses.
void check_sql_file(const fs::path& dir, const fs::path& real_dir, const MigrationFileName& name,
                    std::vector<CheckFinding>& out) {
  const fs::path path = dir / name.file_name;
  const std::string file = shown(path);
  if (!is_valid_utf8(name.file_name)) {
    out.push_back({file, "the file name is not valid UTF-8 (bytes shown as \\xHH); rename the file: its name is "
                         "recorded in the ledger and printed in JSON, which take UTF-8 only"});
  }
  std::error_code error;
  const fs::path real = fs::canonical(path, error);
  if (error) return out.push_back({file, "cannot be read: " + error.message()});
  if (!is_inside(real_dir, real)) {
    return out.push_back({file, "a symbolic link that resolves to " + shown(real) +
                                    ", outside the migrations directory: it would be refused (copy the file in)"});
  }
  // Checked before opening: a FIFO named like a migration would block the open.
  if (!fs::is_regular_file(real, error)) return out.push_back({file, "cannot be read: not a regular file"});
  std::ifstream in(real, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) return out.push_back({file, "cannot be read"});
  std::string content = std::move(text).str();
  if (content.starts_with("\xEF\xBB\xBF")) content.erase(0, 3);
  const MigrationScript script = parse_migration_script_in_place(file, std::move(content));
  for (const auto& problem : script.problems) out.push_back(split_problem(file, problem));
  for (const auto& problem : down_section_problems(file, script)) out.push_back(split_problem(file, problem));
}

struct Outcome {
  std::string kind;
  std::vector<CheckFinding> findings;
  std::vector<std::string> heads;
  std::string counted_items; // "5 revisions", "5 migrations"
  fs::path directory;        // the Alembic script directory, or the .sql directory
};

std::vector<std::string> migration_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    std::error_code kind;
    if (!it->is_directory(kind)) names.push_back(it->path().filename().string());
  }
  if (error) throw Error(ExitCode::migration_failed, "cannot read migrations directory " + shown(dir) + ": " + error.message());
  std::sort(names.begin(), names.end());
  return names;
}

void print_text(const Outcome& outcome) {
  const fs::path& dir = outcome.directory;
  for (const auto& finding : outcome.findings) std::cout << "check: " << finding.where << ": " << finding.message << "\n";
  std::string summary = "check: " + shown(dir) + " (" + outcome.kind + ", " + outcome.counted_items;
  if (outcome.kind == "alembic") summary += ", " + counted(static_cast<long long>(outcome.heads.size()), "head", "heads");
  summary += "): ";
  summary += outcome.findings.empty() ? "no problems found"
                                      : counted(static_cast<long long>(outcome.findings.size()), "finding", "findings");
  std::cout << summary << "\n" << std::flush;
}

void print_json(const Outcome& outcome) {
  const fs::path& dir = outcome.directory;
  std::vector<std::string> findings;
  for (const auto& finding : outcome.findings) {
    findings.push_back(JsonObject().add("where", finding.where).add("message", finding.message).str());
  }
  JsonObject out;
  out.add("ok", outcome.findings.empty()).add("kind", outcome.kind).add("directory", shown(dir));
  out.add_raw("findings", json_array(findings));
  if (outcome.kind == "alembic") {
    out.add_raw("heads", json_string_array(outcome.heads));
  }
  std::cout << out.str() << "\n" << std::flush;
}

} // namespace

std::vector<CheckFinding> graph_findings(const alembic::Graph& graph, const std::vector<std::string>& command) {
  std::vector<CheckFinding> findings;
  for (const auto& doubt : graph.doubts) findings.push_back({doubt.where, doubt.message});
  const auto heads = head_findings(graph, command);
  findings.insert(findings.end(), heads.begin(), heads.end());
  return findings;
}

std::vector<CheckFinding> check_alembic(const alembic::Project& project) {
  return graph_findings(alembic::read_graph(project));
}

std::vector<CheckFinding> check_sql_dir(const fs::path& dir) {
  check_not_directory(dir);
  std::vector<CheckFinding> findings;
  std::vector<MigrationFileName> migrations;
  for (const auto& name : migration_names(dir)) {
    if (auto parsed = parse_migration_file_name(name)) {
      migrations.push_back(std::move(*parsed));
    } else if (lowercase(name).ends_with(".sql")) {
      // Not refused, but never applied: discovery only warns, at every start.
      findings.push_back({shown(dir / name), "not a migration, so it is never applied (expected "
                                             "<version>_<name>.sql, e.g. 001_initial_schema.sql)"});
    }
  }
  add_duplicates(migrations, dir, findings);
  std::error_code error;
  const fs::path real_dir = fs::canonical(dir, error);
  if (error) throw Error(ExitCode::migration_failed, "cannot read migrations directory " + shown(dir) + ": " + error.message());
  for (const auto& name : migrations) check_sql_file(dir, real_dir, name, findings);
  return findings;
}

int run_check(const Config& config, bool json) {
  const fs::path& ini_path = config.alembic_ini;
  Outcome outcome;
  if (const auto project = alembic::find_project(config.migrations_dir, ini_path)) {
    const alembic::Graph graph = alembic::read_graph(*project);
    outcome = {"alembic", graph_findings(graph, config.migrate_command), graph.heads,
               counted(static_cast<long long>(graph.revisions.size()), "revision", "revisions"), project->script_dir};
  } else {
    check_not_directory(config.migrations_dir);
    std::size_t count = 0;
    for (const auto& name : migration_names(config.migrations_dir)) count += parse_migration_file_name(name) ? 1 : 0;
    outcome = {"sql", check_sql_dir(config.migrations_dir), {},
               counted(static_cast<long long>(count), "migration", "migrations"), config.migrations_dir};
  }
  if (json) {
    print_json(outcome);
  } else {
    print_text(outcome);
  }
  return to_int(outcome.findings.empty() ? ExitCode::ok : ExitCode::refused);
}

} // namespace migrate_init
