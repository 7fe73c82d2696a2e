#include "sql_files/migration_script.hpp"

#include "only_statement.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace migrate_init;
using test::only_statement;

namespace {

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

TEST_CASE("A file wrapped in BEGIN ... COMMIT has the wrapper blanked out, its lines and positions kept") {
  const auto script = parse_migration_script("003_w.sql", "BEGIN;\nCREATE TABLE w (id int);\nSELEC 1;\nCOMMIT;\n");
  CHECK(script.own_transaction_lines == std::vector<std::size_t>{1, 4});
  CHECK(script.problems.empty());
  CHECK(script.up.sql == "     ;\nCREATE TABLE w (id int);\nSELEC 1;\n      ;\n");
  CHECK(script.up.first_line == 1);
  REQUIRE(script.up_statements.size() == 2);
  CHECK(script.up_statements[0].line == 2);
  CHECK(script.up_statements[1].offset == script.up.sql.find("SELEC"));

  const auto start_end = parse_migration_script("003_w.sql", "START TRANSACTION;\nSELECT 1;\nEND;\n");
  CHECK(start_end.own_transaction_lines == std::vector<std::size_t>{1, 3});
}

TEST_CASE("Transaction blocks anywhere in a file are dropped: psql's template runs whole, verification and INSERT included") {
  const std::string text = "-- Migration: 006_feature\n-- Purpose: x\nBEGIN;\nCREATE TABLE IF NOT EXISTS f (id int);\n"
                           "COMMIT;\n\n-- Verification queries\nSELECT count(*) FROM f;\n\nBEGIN;\nALTER TABLE f ADD "
                           "COLUMN IF NOT EXISTS b int;\nEND;\n-- Record migration\nINSERT INTO schema_migrations (id)\n"
                           "VALUES ('006_feature')\nON CONFLICT (id) DO NOTHING;\n";
  const auto script = parse_migration_script("006_feature.sql", text);
  CHECK(script.problems.empty());
  CHECK(script.mode == TransactionMode::transaction);
  CHECK(script.own_transaction_lines == std::vector<std::size_t>{3, 5, 10, 12});
  REQUIRE(script.up_statements.size() == 4);
  CHECK(script.up_statements[3].line == 14);
  CHECK(script.up.sql.size() == text.size()); // ASCII: blanked byte for byte
  CHECK(std::count(script.up.sql.begin(), script.up.sql.end(), '\n') == std::count(text.begin(), text.end(), '\n'));
  CHECK(split_sql(script.up.sql).statements.size() == 4); // what the server is sent
  SUBCASE("a character of several bytes in a dropped statement is one space: positions in characters hold") {
    const auto accented = parse_migration_script("007_x.sql", "BEGIN /* caf\xC3\xA9 */;\nSELEC 1;\nCOMMIT;\n");
    CHECK(accented.up.sql.substr(0, accented.up.sql.find('\n')) == "                ;");
  }
}

TEST_CASE("Transaction control that would split a file from its ledger row is refused, naming file:line and the fix") {
  const auto problem = [](const std::string& sql) {
    const auto script = parse_migration_script("004_x.sql", sql);
    return script.problems.empty() ? std::string() : script.problems.front();
  };
  CHECK(problem("SELECT 1;\nCOMMIT;\nSELECT 2;\n") ==
        "004_x.sql:2: COMMIT without a BEGIN before it: remove it (the file runs in one transaction with its ledger "
        "row), or put `-- migrate-init: no-transaction` on the file's first line");
  CHECK(problem("BEGIN;\nSELECT 1;\nROLLBACK;\n") ==
        "004_x.sql:3: ROLLBACK inside a migration would end its transaction apart from its ledger row (a ROLLBACK "
        "would record as applied what it undid): remove it, or put `-- migrate-init: no-transaction` on the file's "
        "first line");
  CHECK(problem("BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;\nCOMMIT;\n") ==
        "004_x.sql:2: BEGIN inside the transaction block opened at line 1 (PostgreSQL does not nest them): remove one, "
        "or put `-- migrate-init: no-transaction` on the file's first line");
  CHECK(problem("BEGIN;\nSELECT 1;\n") == "004_x.sql:1: BEGIN with no COMMIT after it: add the COMMIT, or remove the BEGIN");
  CHECK(problem("SELECT 1;\nABORT;\n").rfind("004_x.sql:2: ABORT inside a migration", 0) == 0);
  CHECK(problem("BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\nCOMMIT;\n").rfind("004_x.sql:3: COMMIT inside a migration", 0) == 0);
  CHECK(problem("PREPARE TRANSACTION 'x';\n").rfind("004_x.sql:1: PREPARE inside a migration", 0) == 0);
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
    // Without a marker, as psql would: statement by statement, saying why.
    const auto detected = parse_migration_script("005_x.sql", std::string("SELECT 1;\n") + c.sql + ";\n");
    CHECK(detected.problems.empty());
    CHECK(detected.mode == TransactionMode::none);
    CHECK(detected.detected_no_transaction == std::string(c.reason) + " at line 2");
    REQUIRE(detected.up_statements.size() == 2);
    CHECK(detected.up_statements[1].text == c.sql); // kept whole, to run one by one
    // With a transaction block of its own too: refused, with the reason.
    CHECK(has_problem(parse_migration_script("005_x.sql", std::string("BEGIN;\nSELECT 1;\nCOMMIT;\n") + c.sql + ";\n"),
                      std::string("005_x.sql:4: ") + c.reason +
                          " cannot run inside a transaction block, and this file has transaction blocks of its own "
                          "(BEGIN at line 1): move it to a file of its own"));
  }
  for (const char* fine : {"CREATE INDEX i ON t (a)", "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
                           "SELECT 'CREATE INDEX CONCURRENTLY'", "COMMENT ON TABLE t IS 'vacuum'",
                           "CREATE TABLE concurrently (id int)"}) {
    CAPTURE(fine);
    CHECK_FALSE(needs_no_transaction(only_statement(fine)));
  }
}

TEST_CASE("Meta-commands and unterminated text are problems with their file line") {
  CHECK(has_problem(parse_migration_script("006_m.sql", "SELECT 1;\n\\i other.sql\n"), "006_m.sql:2: a psql meta-command"));
  CHECK(has_problem(parse_migration_script("006_m.sql", "-- migrate:up\nSELECT 1;\n\\set x 1\n-- migrate:down\n"),
                    "006_m.sql:3: a psql meta-command"));
  CHECK(has_problem(parse_migration_script("006_m.sql", "SELECT 1;\nSELECT 'open;\n"), "006_m.sql:2: unterminated"));
  CHECK(parse_migration_script("006_m.sql", "SELECT '\\i not a command';\n").problems.empty());
}

TEST_CASE("psql's \\set ON_ERROR_STOP on is accepted and not sent; every other meta-command stays refused") {
  for (const char* line : {"\\set ON_ERROR_STOP on", "\\set ON_ERROR_STOP 1", "  \\set ON_ERROR_STOP true  ",
                           "\\SET on_error_stop ON"}) {
    CAPTURE(line);
    const auto script = parse_migration_script("001_x.sql", std::string(line) + "\nBEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n");
    CHECK(script.problems.empty());
    CHECK(script.up.sql.find('\\') == std::string::npos);
    REQUIRE(script.up_statements.size() == 1);
    CHECK(script.up_statements[0].line == 3);
  }
  CHECK(has_problem(parse_migration_script("001_x.sql", "\\set ON_ERROR_STOP on\n\\set x 1\nSELECT 1;\n"),
                    "001_x.sql:2: a psql meta-command"));
  CHECK(has_problem(parse_migration_script("001_x.sql", "\\set ON_ERROR_STOP off\nSELECT 1;\n"), "001_x.sql:1: a psql meta-command"));
  CHECK(has_problem(parse_migration_script("001_x.sql", "SELECT 1; \\set ON_ERROR_STOP on\n"), "001_x.sql:1: a psql meta-command"));
  // Inside a dollar-quoted body it is text, kept as it is.
  const auto body = parse_migration_script("001_x.sql", "SELECT $$\n\\set ON_ERROR_STOP on\n$$;\n");
  CHECK(body.problems.empty());
  CHECK(body.up.sql.find("\\set ON_ERROR_STOP on") != std::string::npos);
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
            .at(0) == "005_e.sql:4: unterminated quoted string: the ' opened on line 4 is never closed");
}

namespace {

// Texts whose splitting depends on state carried across the text: quotes, dollar quotes,
// nested comments, parentheses, BEGIN ATOMIC bodies, meta-commands, unterminated ends.
const std::vector<std::string>& tricky_texts() {
  static const std::vector<std::string> texts{
      "",
      "-- only a comment\n/* and another; */\n",
      "SELECT 1; SELECT 'a;b'; SELECT $$x;y$$; SELECT $t$ ; $T$ ; $t$;\n-- c;\n/* a /* b; */ c; */ SELECT 2;",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT CASE WHEN true THEN 1 END;\nEND;\n"
      "SELECT 3;\n",
      "SELECT E'\\';'; SELECT \"a;\"\"b\"; SELECT U&'\\0041;';\n\\set x 1\nSELECT 4;\n",
      "SELECT 1;\n\\i other.sql\nSELECT 2 \\gset\n;SELECT 3;",
      "SELECT (1;2); SELECT 3);SELECT 4",
      "INSERT INTO t VALUES (1, 'x');\r\nINSERT INTO t VALUES (2, 'y');\r\n",
      "SELECT 1;\nSELECT 'open;\nSELECT 2;\n",
      "SELECT 1; /* open; SELECT 2;",
      "SELECT 1; $body$ open;",
      "SELECT \"open;",
      "SELECT 1;\nCREATE INDEX i ON t (a;\nCOMMIT;\n",
      "SELECT 'a', 'b;\nSELECT (1,\n (2;\nEND;",
      "SELECT 1.5e3;SELECT a[1..10];SELECT $1;;;  ;\n\n",
  };
  return texts;
}

void check_same_statement(const SqlStatement& got, const SqlStatement& expected) {
  CHECK(got.text == expected.text);
  CHECK(got.offset == expected.offset);
  CHECK(got.line == expected.line);
  REQUIRE(got.tokens.size() == expected.tokens.size());
  for (std::size_t i = 0; i < got.tokens.size(); ++i) {
    CHECK(got.tokens[i].kind == expected.tokens[i].kind);
    CHECK(got.tokens[i].text == expected.tokens[i].text);
    CHECK(got.tokens[i].line == expected.tokens[i].line);
  }
}

// split_sql_in_windows(text, window) collected, compared with split_sql(text).
void check_windows(const std::string& text, std::size_t window) {
  const SplitSql expected = split_sql(text);
  std::vector<SqlStatement> statements;
  const SplitSql rest =
      split_sql_in_windows(text, [&](SqlStatement&& statement) { statements.push_back(std::move(statement)); }, 1, window);
  CHECK(rest.statements.empty());
  CHECK(rest.meta_command_line == expected.meta_command_line);
  CHECK(rest.unterminated.has_value() == expected.unterminated.has_value());
  if (rest.unterminated && expected.unterminated) CHECK(describe(*rest.unterminated) == describe(*expected.unterminated));
  REQUIRE(statements.size() == expected.statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i) check_same_statement(statements[i], expected.statements[i]);
}

} // namespace

TEST_CASE("split_sql_in_windows finds split_sql's statements, lines and problems whatever the window") {
  for (const auto& text : tricky_texts()) {
    for (std::size_t window = 1; window <= text.size() + 1; ++window) {
      CAPTURE(text);
      CAPTURE(window);
      check_windows(text, window);
    }
  }
  SUBCASE("lines count from first_line") {
    std::vector<SqlStatement> statements;
    const SplitSql rest = split_sql_in_windows(
        "SELECT 1;\n\\set x\nSELECT\n 'open", [&](SqlStatement&& s) { statements.push_back(std::move(s)); }, 10, 4);
    REQUIRE(statements.size() == 2);
    CHECK(statements[1].line == 12);
    CHECK(statements[1].tokens.at(1).line == 13);
    CHECK(rest.meta_command_line == std::optional<std::size_t>(11));
    REQUIRE(rest.unterminated.has_value());
    CHECK(rest.unterminated->line == 13);
  }
}

TEST_CASE("split_sql_in_windows agrees with split_sql on long texts made of tricky pieces, cut anywhere") {
  std::uint32_t state = 7;
  const auto next = [&] { return state = state * 1664525u + 1013904223u; };
  const auto& pieces = tricky_texts();
  for (int round = 0; round < 40; ++round) {
    std::string text;
    const std::size_t count = 1 + next() % 40;
    for (std::size_t i = 0; i < count; ++i) {
      // Most pieces end cleanly; the last one of a text may leave it unterminated.
      const std::string& piece = pieces[next() % pieces.size()];
      text += piece + (next() % 3 ? ";\n" : "\n");
    }
    CAPTURE(text);
    for (std::size_t window : {std::size_t{1}, std::size_t{2} + next() % 20, std::size_t{16} + next() % 200}) {
      CAPTURE(window);
      check_windows(text, window);
    }
  }
}

TEST_CASE("A file bigger than the split window is parsed as one split of the whole would be") {
  // Over 3 MiB of statements with semicolons in strings, dollar quotes and comments, so that
  // window edges fall inside them.
  std::string body;
  for (int i = 0; body.size() < (std::size_t{3} << 20); ++i) {
    body += "INSERT INTO t VALUES (" + std::to_string(i) + ", 'a;b', $$c;d$$); /* e;f */\n";
    if (i % 1000 == 0) body += "SELECT '" + std::string(70000 + i % 7, 'x') + "';\n";
  }
  const SplitSql whole = split_sql(body);
  REQUIRE(whole.statements.size() > 20000);

  SUBCASE("a no-transaction file keeps every statement whole, with file lines") {
    const auto script = parse_migration_script("007_big.sql", "-- migrate-init: no-transaction\n" + body);
    CHECK(script.problems.empty());
    REQUIRE(script.up_statements.size() == whole.statements.size());
    for (std::size_t i = 0; i < whole.statements.size(); i += 997) {
      SqlStatement expected = whole.statements[i];
      expected.offset += std::string("-- migrate-init: no-transaction\n").size();
      expected.line += 1;
      for (auto& token : expected.tokens) token.line += 1;
      check_same_statement(script.up_statements[i], expected);
    }
  }
  SUBCASE("a transactional file keeps only each statement's offset, line and first token") {
    const auto script = parse_migration_script("007_big.sql", body);
    CHECK(script.problems.empty());
    CHECK(script.up.sql == body);
    REQUIRE(script.up_statements.size() == whole.statements.size());
    for (std::size_t i = 0; i < whole.statements.size(); ++i) {
      const auto& kept = script.up_statements[i];
      if (kept.offset != whole.statements[i].offset || kept.line != whole.statements[i].line || !kept.text.empty() ||
          kept.tokens.size() != 1 || kept.tokens[0].text != whole.statements[i].tokens[0].text) {
        CAPTURE(i);
        FAIL("statement differs");
      }
    }
  }
  SUBCASE("problems late in the file keep their file lines") {
    const auto lines_before = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n'));
    const auto script = parse_migration_script("007_big.sql", body + "VACUUM t;\n\\set x\nSELECT 'open;\n");
    CHECK(script.problems == std::vector<std::string>{
                                 "007_big.sql:" + std::to_string(lines_before + 3) +
                                     ": unterminated quoted string: the ' opened on line " +
                                     std::to_string(lines_before + 3) + " is never closed",
                                 "007_big.sql:" + std::to_string(lines_before + 2) +
                                     ": a psql meta-command (\\...) cannot run on the server; use plain SQL"});
    CHECK(script.detected_no_transaction == "VACUUM at line " + std::to_string(lines_before + 1));
  }
}

TEST_CASE("parse_migration_script_in_place gives parse_migration_script's result") {
  for (const std::string text : {"-- migrate:up\nCREATE TABLE b (id int);\n-- migrate:down\nDROP TABLE b;\n",
                                 "-- migrate:down\nDROP TABLE b;\n-- migrate:up\nCREATE TABLE b (id int);\n",
                                 "BEGIN;\nCREATE TABLE w (id int);\nCOMMIT;\n", "-- migrate:up", "",
                                 "-- migrate-init: no-transaction\nVACUUM t;\nSELECT 1"}) {
    CAPTURE(text);
    const auto viewed = parse_migration_script("008_x.sql", text);
    const auto taken = parse_migration_script_in_place("008_x.sql", std::string(text));
    CHECK(taken.mode == viewed.mode);
    CHECK(taken.up.sql == viewed.up.sql);
    CHECK(taken.up.first_line == viewed.up.first_line);
    CHECK(taken.down.has_value() == viewed.down.has_value());
    if (taken.down && viewed.down) CHECK(taken.down->sql == viewed.down->sql);
    CHECK(taken.up_statements.size() == viewed.up_statements.size());
    CHECK(taken.problems == viewed.problems);
  }
}

namespace {

// One statement left open on line `line`, what follows it on the next line, and the problem
// expected: each kind of unterminated construct swallows the rest of the file, the next
// statement included.
struct Unterminated {
  const char* statement;
  std::string (*expected)(std::size_t line, const std::string& next);
};

const std::vector<Unterminated>& unterminated_cases() {
  static const std::vector<Unterminated> cases{
      {"CREATE INDEX customers_phone ON customers (phone;",
       [](std::size_t line, const std::string& next) {
         return "unbalanced parenthesis: the \"(\" opened on line " + std::to_string(line) + " is never closed, so the " +
                next + " on line " + std::to_string(line + 1) + " is read as part of the statement";
       }},
      {"INSERT INTO notes VALUES ('it;",
       [](std::size_t line, const std::string& next) {
         return "unterminated quoted string: the ' opened on line " + std::to_string(line) + " is never closed, so the " +
                next + " on line " + std::to_string(line + 1) + " is read as part of the string";
       }},
      {"CREATE TABLE \"odd name;",
       [](std::size_t line, const std::string& next) {
         return "unterminated quoted identifier: the \" opened on line " + std::to_string(line) +
                " is never closed, so the " + next + " on line " + std::to_string(line + 1) +
                " is read as part of the identifier";
       }},
      {"DO $body$ BEGIN PERFORM 1;",
       [](std::size_t line, const std::string&) { // a body's ';' names no statement swallowed
         return "unterminated dollar-quoted string: the $body$ opened on line " + std::to_string(line) +
                " is never closed";
       }},
      {"SELECT 1; /* a note;",
       [](std::size_t line, const std::string&) { // nor does a comment's
         return "unterminated /* comment: the /* opened on line " + std::to_string(line) + " is never closed";
       }},
  };
  return cases;
}

} // namespace

TEST_CASE("An unterminated construct is named with the line it opened on, inside a BEGIN/COMMIT block and outside") {
  for (const auto& open : unterminated_cases()) {
    CAPTURE(open.statement);
    SUBCASE("inside a block: the COMMIT it swallows is no 'BEGIN with no COMMIT'") {
      const std::string text = std::string("BEGIN;\nALTER TABLE customers\n  ADD COLUMN phone text;\n") + open.statement +
                               "\nCOMMIT;\n";
      CHECK(parse_migration_script("006_customer_phone.sql", text).problems ==
            std::vector<std::string>{"006_customer_phone.sql:4: " + open.expected(4, "COMMIT")});
    }
    SUBCASE("outside any block") {
      const std::string text = std::string("ALTER TABLE customers ADD COLUMN phone text;\n") + open.statement +
                               "\nSELECT 1;\n";
      CHECK(parse_migration_script("006_customer_phone.sql", text).problems ==
            std::vector<std::string>{"006_customer_phone.sql:2: " + open.expected(2, "SELECT")});
    }
    SUBCASE("in a no-transaction file") {
      const std::string text = std::string("-- migrate-init: no-transaction\n") + open.statement + "\nVACUUM;\n";
      CHECK(parse_migration_script("006_customer_phone.sql", text).problems ==
            std::vector<std::string>{"006_customer_phone.sql:2: " + open.expected(2, "VACUUM")});
    }
  }
}

TEST_CASE("When the splitter cannot tell which opener is unterminated, the problem says 'probably' and names the other") {
  SUBCASE("a parenthesis: another \"(\" of the statement may be the one missing its \")\"") {
    CHECK(parse_migration_script("007_t.sql", "BEGIN;\nCREATE TABLE t (\n  a int,\n  b numeric(10, 2,\n  c int\n);\nCOMMIT;\n")
              .problems == std::vector<std::string>{
                               "007_t.sql:2: unbalanced parenthesis: probably the \"(\" opened on line 2 is never closed "
                               "(or a \")\" is missing after a later \"(\", the last one on line 4; the splitter cannot "
                               "tell which), so the COMMIT on line 7 is read as part of the statement"});
  }
  SUBCASE("a quote: an earlier one of the statement may be one too many") {
    CHECK(parse_migration_script("007_t.sql", "INSERT INTO t VALUES ('it's');\nINSERT INTO t VALUES ('b');\nCOMMIT;\n")
              .problems == std::vector<std::string>{
                               "007_t.sql:2: unterminated quoted string: probably the ' opened on line 2 is never closed "
                               "(or a ' before it in the statement, from line 1 on, is one too many; the splitter cannot "
                               "tell which), so the COMMIT on line 3 is read as part of the string"});
  }
  SUBCASE("a comment: PostgreSQL comments nest, so a /* inside one needs a */ of its own") {
    CHECK(parse_migration_script("007_t.sql", "/* old: /* x */\nSELECT 1;\nSELECT 2;\n").problems ==
          std::vector<std::string>{"007_t.sql:1: unterminated /* comment: probably the /* opened on line 1 is never "
                                   "closed (or the /* inside it on line 1 opens a nested comment, which PostgreSQL "
                                   "allows, and needs a */ of its own; the splitter cannot tell which)"});
  }
}
