// `migrate-init check` without a database: the findings for the Alembic fixtures in
// tests/fixtures/alembic_check (two heads, a dangling down_revision, duplicate ids, a
// merged graph) and for .sql sets, and what run_check prints and returns.
#include "pipeline/offline_check.hpp"

#include "error.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

using namespace migrate_init;
namespace fs = std::filesystem;

namespace {

const fs::path k_fixtures = fs::path(MIGRATE_INIT_SOURCE_DIR) / "tests" / "fixtures" / "alembic_check";

alembic::Project project_at(const std::string& name) {
  auto project = alembic::find_project(k_fixtures / name, k_fixtures / "no-such.ini");
  REQUIRE(project);
  return *project;
}

// Every finding as "where: message", one a line, for messages in failed checks.
std::string listed(const std::vector<CheckFinding>& findings) {
  std::string out;
  for (const auto& finding : findings) out += finding.where + ": " + finding.message + "\n";
  return out;
}

bool has(const std::vector<CheckFinding>& findings, const std::string& where_part, const std::string& message_part) {
  for (const auto& finding : findings) {
    if (finding.where.find(where_part) != std::string::npos && finding.message.find(message_part) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// run_check's stdout and exit code.
struct Run {
  int code = -1;
  std::string out;
};

Run run(const fs::path& dir, bool json) {
  Config config;
  config.migrations_dir = dir;
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  Run result;
  try {
    result.code = run_check(config, json);
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  result.out = captured.str();
  return result;
}

} // namespace

TEST_CASE("Two heads are two findings, each naming its revision and file and suggesting the merge") {
  const auto findings = check_alembic(project_at("two_heads"));
  INFO(listed(findings));
  REQUIRE(findings.size() == 2);
  CHECK(has(findings, "2b3c4d5e6f70_add_email.py:10", "revision 2b3c4d5e6f70 is one of 2 heads (2b3c4d5e6f70, 3c4d5e6f7081)"));
  CHECK(has(findings, "3c4d5e6f7081_add_orders.py:10", "two developers branched from the same revision"));
  CHECK(has(findings, "3c4d5e6f7081", "alembic merge heads"));
}

TEST_CASE("Deliberate expand/contract branches, each head with its own branch label, are no finding") {
  const auto project = project_at("expand_contract");
  const auto graph = alembic::read_graph(project);
  INFO(graph.uncertain_reason);
  REQUIRE(graph.certain);
  CHECK(graph.heads == std::vector<std::string>{"4af11ca47297", "599c6a226151"});
  CHECK(graph.head_labels.at("4af11ca47297") == std::vector<std::string>{"contract"});
  CHECK(graph.head_labels.at("599c6a226151") == std::vector<std::string>{"expand"});
  INFO(listed(graph_findings(graph)));
  CHECK(graph_findings(graph).empty());
  CHECK(graph_findings(graph, {"alembic", "upgrade", "heads"}).empty());
  // alembic_version after `alembic upgrade heads`: both heads, or the contract head alone
  // (it depends on the expand head); either is at heads. One branch behind is not.
  CHECK(alembic::database_at_heads(graph, {"599c6a226151", "4af11ca47297"}));
  CHECK(alembic::database_at_heads(graph, {"4af11ca47297"}));
  CHECK_FALSE(alembic::database_at_heads(graph, {"599c6a226151", "30018084ec99"}));
  SUBCASE("`upgrade head`, singular, fails on them: a finding that says `upgrade heads`") {
    for (const auto& command : {std::vector<std::string>{"alembic", "upgrade", "head"},
                                std::vector<std::string>{"/bin/sh", "-c", "flask db upgrade"}}) {
      const auto findings = graph_findings(graph, command);
      INFO(listed(findings));
      REQUIRE(findings.size() == 1);
      CHECK(has(findings, "AUTO_MIGRATE_COMMAND", "Multiple head revisions"));
      CHECK(has(findings, "AUTO_MIGRATE_COMMAND", "`alembic upgrade heads`"));
      CHECK(has(findings, "AUTO_MIGRATE_COMMAND", "contract (4af11ca47297), expand (599c6a226151)"));
    }
  }
}

TEST_CASE("A head without a branch label of its own beside labelled branches is accidental: merge it, not all heads") {
  auto rev = [](std::string id, std::vector<std::string> down, std::vector<std::string> labels = {}) {
    return alembic::Revision{id, std::move(down), std::move(labels), {}, fs::path("versions") / (id + ".py"), 10};
  };
  // Two developers branched from the expand branch's head e2.
  const auto graph = alembic::build_graph({rev("kilo", {}), rev("e1", {"kilo"}, {"expand"}), rev("e2", {"e1"}),
                                           rev("e3a", {"e2"}), rev("e3b", {"e2"}), rev("c1", {"kilo"}, {"contract"})});
  REQUIRE(graph.heads == std::vector<std::string>{"c1", "e3a", "e3b"});
  const auto findings = graph_findings(graph);
  INFO(listed(findings));
  REQUIRE(findings.size() == 2);
  CHECK(has(findings, "e3a.py:10", "no branch label of its own"));
  CHECK(has(findings, "e3b.py:10", "`alembic merge e3a e3b`"));
  // Advises merging the accidental heads only, and warns off merging every head.
  CHECK_FALSE(has(findings, "", "join them with `alembic merge heads`"));
  CHECK(has(findings, "e3a.py:10", "(not `alembic merge heads`, which would join the deliberate branches too)"));
}

TEST_CASE("A merged graph has no findings") {
  const auto findings = check_alembic(project_at("merged"));
  INFO(listed(findings));
  CHECK(findings.empty());
}

TEST_CASE("A revision file with `from sqlalchemy import *` before its assignments is read: one head, no findings") {
  const auto project = project_at("star_import");
  const auto graph = alembic::read_graph(project);
  INFO(graph.uncertain_reason);
  CHECK(graph.certain);
  CHECK(graph.heads == std::vector<std::string>{"7d0f3e5b8c21"});
  const auto findings = graph_findings(graph);
  INFO(listed(findings));
  CHECK(findings.empty());
}

TEST_CASE("A down_revision that names no revision is a finding at its file and line") {
  const auto findings = check_alembic(project_at("dangling"));
  INFO(listed(findings));
  REQUIRE(findings.size() == 1);
  CHECK(has(findings, "4d5e6f708192_add_index.py:10", "down_revision 0deadbeef000 of revision 4d5e6f708192 names no revision"));
}

TEST_CASE("A duplicate revision id is a finding for both files") {
  const auto findings = check_alembic(project_at("duplicate_ids"));
  INFO(listed(findings));
  CHECK(has(findings, "2b3c4d5e6f70_add_email.py:10", "also the id of"));
  CHECK(has(findings, "2b3c4d5e6f70_add_phone.py:10", "also the id of"));
  CHECK(findings.size() == 2);
}

TEST_CASE("A revision file that cannot be read is a finding, and the others are still checked") {
  const fs::path root = fs::temp_directory_path() / ("migrate-init-check-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "versions");
  std::ofstream(root / "env.py") << "";
  std::ofstream(root / "versions" / "a.py") << "revision = 'a'\ndown_revision = None\n";
  std::ofstream(root / "versions" / "b.py") << "revision = make_id()\ndown_revision = 'a'\n";
  std::ofstream(root / "versions" / "c.py") << "revision = 'c'\ndown_revision = 'gone'\n";
  const auto findings = check_alembic(*alembic::find_project(root, root / "none.ini"));
  INFO(listed(findings));
  CHECK(has(findings, "b.py:1", "revision is not a string, a tuple or list of strings, or None"));
  CHECK(has(findings, "c.py:1", "down_revision gone"));
  CHECK(findings.size() == 2); // no head findings: b.py may be the revision that joins a and c
  fs::remove_all(root);
}

TEST_CASE("A .sql set's duplicate versions and unterminated quotes are all found") {
  const auto findings = check_sql_dir(k_fixtures / "sql_problems");
  INFO(listed(findings));
  CHECK(has(findings, "002_create_b.sql", "version 2 is also the version of 02_create_c.sql"));
  CHECK(has(findings, "02_create_c.sql", "version 2 is also the version of 002_create_b.sql"));
  CHECK(has(findings, "003_unterminated.sql:3", "unterminated"));
  CHECK(has(findings, "004-add-e.sql", "not a migration, so it is never applied"));
  CHECK(findings.size() == 4);
  CHECK(check_sql_dir(k_fixtures / "sql_clean").empty());
}

TEST_CASE("A symbolic link out of the directory and a non-UTF-8 name are findings") {
  const fs::path root = fs::temp_directory_path() / ("migrate-init-check-sql-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "m");
  std::ofstream(root / "outside.sql") << "select 1;";
  fs::create_symlink(root / "outside.sql", root / "m" / "001_link.sql");
  std::ofstream(root / "m" / "002_caf\xe9.sql") << "select 1;";
  std::ofstream(root / "m" / "003_ok.sql") << "select 1;";
  const auto findings = check_sql_dir(root / "m");
  INFO(listed(findings));
  CHECK(has(findings, "001_link.sql", "outside the migrations directory"));
  CHECK(has(findings, "002_caf\\xe9.sql", "not valid UTF-8"));
  CHECK(findings.size() == 2);
  fs::remove_all(root);
}

TEST_CASE("check names what a file leaves unterminated and where it opened, not the BEGIN whose COMMIT it swallows") {
  const fs::path root = fs::temp_directory_path() / ("migrate-init-check-open-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  std::ofstream(root / "005_customers.sql") << "CREATE TABLE customers (id int);\n";
  std::ofstream(root / "006_customer_phone.sql") << "BEGIN;\nALTER TABLE customers\n  ADD COLUMN phone text;\n"
                                                    "CREATE INDEX customers_phone ON customers (phone;\nCOMMIT;\n";
  const Run r = run(root, false);
  CHECK(r.code == 5);
  CHECK(r.out.find("006_customer_phone.sql:4: unbalanced parenthesis: the \"(\" opened on line 4 is never closed, so "
                   "the COMMIT on line 5 is read as part of the statement\n") != std::string::npos);
  CHECK(r.out.find("BEGIN with no COMMIT") == std::string::npos);
  CHECK(r.out.find(": 1 finding") != std::string::npos);
  fs::remove_all(root);
}

TEST_CASE("A missing directory is an error naming it, exit 1") {
  try {
    check_sql_dir(k_fixtures / "no-such-dir");
    FAIL("no error");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::migration_failed);
    CHECK(std::string(error.what()).find("no-such-dir does not exist") != std::string::npos);
  }
}

TEST_CASE("run_check prints a line per finding and a summary, and returns 5 or 0") {
  SUBCASE("two heads, text") {
    const Run r = run(k_fixtures / "two_heads", false);
    CHECK(r.code == 5);
    CHECK(r.out.find("check: ") == 0);
    CHECK(r.out.find("2b3c4d5e6f70_add_email.py:10: revision 2b3c4d5e6f70 is one of 2 heads") != std::string::npos);
    CHECK(r.out.find("(alembic, 3 revisions, 2 heads): 2 findings\n") != std::string::npos);
  }
  SUBCASE("two heads, json") {
    const Run r = run(k_fixtures / "two_heads", true);
    CHECK(r.code == 5);
    CHECK(r.out.find("{\"ok\":false,\"kind\":\"alembic\"") == 0);
    CHECK(r.out.find("\"heads\":[\"2b3c4d5e6f70\",\"3c4d5e6f7081\"]") != std::string::npos);
    CHECK(r.out.find("\"where\":") != std::string::npos);
  }
  SUBCASE("merged") {
    const Run r = run(k_fixtures / "merged", false);
    CHECK(r.code == 0);
    CHECK(r.out.find("(alembic, 4 revisions, 1 head): no problems found") != std::string::npos);
  }
  SUBCASE("sql, json") {
    const Run r = run(k_fixtures / "sql_problems", true);
    CHECK(r.code == 5);
    CHECK(r.out.find("{\"ok\":false,\"kind\":\"sql\"") == 0);
    CHECK(r.out.find("\"heads\"") == std::string::npos);
  }
  SUBCASE("sql clean") {
    const Run r = run(k_fixtures / "sql_clean", false);
    CHECK(r.code == 0);
    CHECK(r.out.find("(sql, 2 migrations): no problems found") != std::string::npos);
  }
}
