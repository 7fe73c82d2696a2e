#include "migrate/migration_script.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace migrate_init;

namespace {

SqlStatement only_statement(const std::string& sql) {
  const SplitSql split = split_sql(sql);
  REQUIRE(split.statements.size() == 1);
  return split.statements[0];
}

bool has_problem(const MigrationScript& script, const std::string& needle) {
  for (const auto& problem : script.problems) {
    if (problem.find(needle) != std::string::npos) return true;
  }
  return false;
}

} // namespace

TEST_CASE("A plain file is transactional, with the whole file as its up section") {
  const auto script = parse_migration_script("001_a.sql", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n");
  CHECK(script.mode == TransactionMode::transaction);
  CHECK(script.up.sql == "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n");
  CHECK(script.up.first_line == 1);
  CHECK(script.up_statements.size() == 2);
  CHECK_FALSE(script.down);
  CHECK(script.problems.empty());
}

TEST_CASE("Every tool's no-transaction marker is recognised in the leading comments, in any spacing and case") {
  for (const char* marker : {"-- migrate-init: no-transaction", "--migrate-init:no-transaction",
                             "-- migrate:up transaction:false", "-- +goose NO TRANSACTION", "-- +goose no transaction",
                             "-- atlas:txmode none", "  --   ATLAS:TXMODE   NONE"}) {
    CAPTURE(marker);
    const auto script = parse_migration_script("002_i.sql", std::string("-- an index\n") + marker +
                                                                "\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
    CHECK(script.mode == TransactionMode::none);
    CHECK(script.problems.empty());
  }
  SUBCASE("but not after the first statement") {
    const auto script = parse_migration_script("002_i.sql", "SELECT 1;\n-- migrate-init: no-transaction\n");
    CHECK(script.mode == TransactionMode::transaction);
  }
}

TEST_CASE("dbmate's up and down sections are split, with file line numbers kept") {
  const std::string text = "-- migrate:up\nCREATE TABLE b (id int);\nSELECT 1;\n\n-- migrate:down\nDROP TABLE b;\n";
  const auto script = parse_migration_script("002_b.sql", text);
  CHECK(script.up.sql == "CREATE TABLE b (id int);\nSELECT 1;\n\n");
  CHECK(script.up.first_line == 2);
  REQUIRE(script.up_statements.size() == 2);
  CHECK(script.up_statements[1].line == 3);
  REQUIRE(script.down);
  CHECK(script.down->sql == "DROP TABLE b;\n");
  CHECK(script.down->first_line == 6);
}

TEST_CASE("A file wrapped in BEGIN ... COMMIT loses the wrapper and keeps its lines") {
  const auto script = parse_migration_script("003_w.sql", "BEGIN;\nCREATE TABLE w (id int);\nSELEC 1;\nCOMMIT;\n");
  CHECK(script.own_transaction_removed);
  CHECK(script.problems.empty());
  CHECK(script.up.sql == "\nCREATE TABLE w (id int);\nSELEC 1;\n");
  CHECK(script.up.first_line == 1);
  REQUIRE(script.up_statements.size() == 2);
  CHECK(script.up_statements[0].text == "CREATE TABLE w (id int)");

  const auto start_end = parse_migration_script("003_w.sql", "START TRANSACTION;\nSELECT 1;\nEND;\n");
  CHECK(start_end.own_transaction_removed);
}

TEST_CASE("Transaction control inside a transactional file is a problem, except savepoints") {
  CHECK(has_problem(parse_migration_script("004_x.sql", "SELECT 1;\nCOMMIT;\nSELECT 2;\n"), "004_x.sql:2: COMMIT inside"));
  CHECK(has_problem(parse_migration_script("004_x.sql", "SELECT 1;\nROLLBACK;\n"), "004_x.sql:2: ROLLBACK inside"));
  CHECK(has_problem(parse_migration_script("004_x.sql", "BEGIN;\nSELECT 1;\n"), "004_x.sql:1: BEGIN inside"));
  CHECK(parse_migration_script("004_x.sql", "SAVEPOINT s;\nSELECT 1;\nROLLBACK TO SAVEPOINT s;\nRELEASE s;\n")
            .problems.empty());
  // A no-transaction file runs them one at a time: no problem.
  CHECK(parse_migration_script("004_x.sql", "-- migrate-init: no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;\n").problems.empty());
}

TEST_CASE("Statements that cannot run in a transaction are refused in a transactional file, with their line") {
  struct Case {
    const char* sql;
    const char* reason;
  };
  for (const Case& c : {Case{"CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"},
                        Case{"create unique index concurrently if not exists i on t (a)", "CREATE INDEX CONCURRENTLY"},
                        Case{"DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"},
                        Case{"REINDEX (VERBOSE) TABLE CONCURRENTLY t", "REINDEX CONCURRENTLY"},
                        Case{"REINDEX DATABASE app", "REINDEX DATABASE/SYSTEM"},
                        Case{"VACUUM (ANALYZE) t", "VACUUM"},
                        Case{"CREATE DATABASE other", "CREATE DATABASE"},
                        Case{"DROP TABLESPACE ts", "DROP TABLESPACE"},
                        Case{"ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM"},
                        Case{"ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", "DETACH PARTITION CONCURRENTLY"}}) {
    CAPTURE(c.sql);
    CHECK(needs_no_transaction(only_statement(c.sql)) == std::optional<std::string>(c.reason));
    CHECK(has_problem(parse_migration_script("005_x.sql", std::string("SELECT 1;\n") + c.sql + ";\n"),
                      std::string("005_x.sql:2: ") + c.reason + " cannot run inside a transaction block"));
  }
  for (const char* fine : {"CREATE INDEX i ON t (a)", "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
                           "SELECT 'CREATE INDEX CONCURRENTLY'", "COMMENT ON TABLE t IS 'vacuum'",
                           "CREATE TABLE concurrently (id int)"}) {
    CAPTURE(fine);
    CHECK_FALSE(needs_no_transaction(only_statement(fine)));
  }
}

TEST_CASE("concurrent_index finds the index and the table a concurrent build touches") {
  const auto named = concurrent_index(only_statement("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"Idx\" ON ONLY app.t (a)"));
  REQUIRE(named);
  CHECK(named->index == std::optional<std::string>("Idx"));
  CHECK(named->table == std::optional<std::string>("\"app\".\"t\""));

  const auto unnamed = concurrent_index(only_statement("create index concurrently on t (a)"));
  REQUIRE(unnamed);
  CHECK_FALSE(unnamed->index);
  CHECK(unnamed->table == std::optional<std::string>("\"t\""));

  const auto reindex_index = concurrent_index(only_statement("REINDEX INDEX CONCURRENTLY app.i"));
  REQUIRE(reindex_index);
  CHECK(reindex_index->index == std::optional<std::string>("i"));

  const auto reindex_table = concurrent_index(only_statement("REINDEX (VERBOSE) TABLE CONCURRENTLY t"));
  REQUIRE(reindex_table);
  CHECK(reindex_table->table == std::optional<std::string>("\"t\""));

  CHECK_FALSE(concurrent_index(only_statement("CREATE INDEX i ON t (a)")));
  CHECK_FALSE(concurrent_index(only_statement("DROP INDEX CONCURRENTLY i")));
}

TEST_CASE("Meta-commands and unterminated text are problems with their file line") {
  CHECK(has_problem(parse_migration_script("006_m.sql", "SELECT 1;\n\\i other.sql\n"), "006_m.sql:2: a psql meta-command"));
  CHECK(has_problem(parse_migration_script("006_m.sql", "-- migrate:up\nSELECT 1;\n\\set x 1\n-- migrate:down\n"),
                    "006_m.sql:3: a psql meta-command"));
  CHECK(has_problem(parse_migration_script("006_m.sql", "SELECT 1;\nSELECT 'open;\n"), "006_m.sql:2: unterminated"));
  CHECK(parse_migration_script("006_m.sql", "SELECT '\\i not a command';\n").problems.empty());
}

TEST_CASE("down_section_problems finds what a rollback could not run, with file lines; the up section is not its concern") {
  const auto script = parse_migration_script(
      "004_d.sql", "-- migrate:up\nCREATE TABLE t (a int);\n-- migrate:down\nDROP TABLE t;\n\\set x 1\nCOPY t FROM STDIN;\n");
  CHECK(script.problems.empty());
  const auto problems = down_section_problems("004_d.sql", script);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0] == "004_d.sql:5: a psql meta-command (\\...) cannot run on the server; use plain SQL");
  CHECK(problems[1].find("004_d.sql:6: COPY ... STDIN/STDOUT") == 0);
  CHECK(down_section_problems("004_d.sql", parse_migration_script("004_d.sql", "CREATE TABLE t (a int);\n")).empty());
  CHECK(down_section_problems("005_e.sql", parse_migration_script("005_e.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n"
                                                                               "SELECT 'open;\n"))
            .at(0) == "005_e.sql:4: unterminated quoted string");
}
