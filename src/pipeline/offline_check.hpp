#pragma once

#include "config.hpp"
#include "command/alembic/alembic_graph.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace migrate_init {

// `migrate-init check`: the migrations read without a database, for CI.

// One thing wrong with the migrations, and where.
struct CheckFinding {
  std::string where;   // "file:line", or a file or directory name
  std::string message; // what is wrong and what to do
};

// An Alembic project's findings: a down_revision or depends_on that names no revision,
// duplicate revision ids (both files), revision files whose values cannot be read, what
// keeps the project's files from being found with certainty, and, when there is none of
// those, more than one head: one finding per accidental head (one without a branch label
// of its own, naming its file); deliberate branches (each head with its own branch label,
// as expand/contract) are no finding. Reads files.
std::vector<CheckFinding> check_alembic(const alembic::Project& project);

// The same check from a graph already read: its doubts and the heads' findings, and, when
// the heads are deliberate branches and `command` (the migrator's argv) upgrades to `head`
// (singular: `upgrade head`, or Flask-Migrate's `db upgrade`), a finding that Alembic
// fails on it and `upgrade heads` is the command. Pure.
std::vector<CheckFinding> graph_findings(const alembic::Graph& graph, const std::vector<std::string>& command = {});

// A .sql directory's findings: two files with one version, .sql files whose names are not
// `<version>_<name>.sql` (never applied), migration names that are not UTF-8, symbolic
// links out of the directory, files that cannot be read, everything that
// makes a file refused when it is pending (unterminated quotes, dollar quotes and
// comments, psql meta-commands, ...) and what makes its -- migrate:down section refused.
// Throws Error (migration failed) when the directory is missing. Reads files.
std::vector<CheckFinding> check_sql_dir(const std::filesystem::path& dir);

// Checks config.migrations_dir (an Alembic project when find_project finds one there or in
// ./alembic.ini, else a .sql directory) and prints each finding to stdout as
// `check: <where>: <message>` and a summary line, or one JSON object with `json`. Returns
// 0 without findings, 5 (refused) with any. A missing directory throws Error (migration
// failed), which app.cpp turns into its one-line error and exit 1.
int run_check(const Config& config, bool json);

} // namespace migrate_init
