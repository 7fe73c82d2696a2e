#include "sql_files/runner.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace migrate_init;

namespace {

ScriptSection migration(std::string sql) { return ScriptSection{std::move(sql), 1}; }

pg::DatabaseError syntax_error(std::size_t position) {
  return pg::DatabaseError("42601", "ERROR", "syntax error at or near \"SELEC\"", "", "", position);
}

} // namespace

TEST_CASE("locate_error names the file and the line of the error position") {
  const ScriptSection m = migration("CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nSELEC 1;\n");
  // Position 51 is the 'S' of SELEC, the first character of line 3.
  CHECK(locate_error("002_x.sql", m, syntax_error(51)) == "002_x.sql:3: ERROR: syntax error at or near \"SELEC\"");
  CHECK(locate_error("002_x.sql", m, syntax_error(1)) == "002_x.sql:1: ERROR: syntax error at or near \"SELEC\"");
}

TEST_CASE("locate_error leaves the line out when the server gave no position") {
  const ScriptSection m = migration("SELECT 1;\nSELECT 2;\n");
  CHECK(locate_error("002_x.sql", m, syntax_error(0)) == "002_x.sql: ERROR: syntax error at or near \"SELEC\"");
}

TEST_CASE("locate_error counts the position in characters, not bytes") {
  // Line 1 holds a two-byte character, so SELEC starts at character 19 but byte 20;
  // byte 19 is the newline, which a byte count would place on line 1.
  const ScriptSection m = migration("-- caf\xC3\xA9 migration\nSELEC 1;\n");
  CHECK(locate_error("002_x.sql", m, syntax_error(19)) == "002_x.sql:2: ERROR: syntax error at or near \"SELEC\"");
}

TEST_CASE("locate_error keeps the server's detail and hint") {
  const ScriptSection m = migration("INSERT INTO t VALUES (1);\n");
  const pg::DatabaseError error("23505", "ERROR", "duplicate key value violates unique constraint \"t_pkey\"",
                                "Key (id)=(1) already exists.", "", 0);
  CHECK(locate_error("002_x.sql", m, error) ==
        "002_x.sql: ERROR: duplicate key value violates unique constraint \"t_pkey\"; DETAIL: Key (id)=(1) already "
        "exists.");
}

TEST_CASE("locate_error counts lines from where the sent section starts in the file") {
  // The up section of a dbmate-style file starts on line 2, after `-- migrate:up`.
  const ScriptSection up{"CREATE TABLE a (id int);\nSELEC 1;\n", 2};
  CHECK(locate_error("002_x.sql", up, syntax_error(26)) == "002_x.sql:3: ERROR: syntax error at or near \"SELEC\"");
}

TEST_CASE("locate_error falls back to the statement's own line when the server gives no position") {
  const ScriptSection statement{"CREATE INDEX CONCURRENTLY u_b ON u (b)", 7};
  CHECK(locate_error("002_x.sql", statement, syntax_error(0), 7) ==
        "002_x.sql:7: ERROR: syntax error at or near \"SELEC\"");
}

TEST_CASE("locate_error names the failing statement's line when the server gives no position") {
  // Three statements, the second spanning lines 3-4 after a comment: the server completed
  // one, so the second failed.
  const ScriptSection up{"CREATE TABLE t (id int PRIMARY KEY);\n-- seed\nINSERT INTO t\n  VALUES (1), (1);\nSELECT 1;\n", 5};
  const auto duplicate = [](std::optional<std::size_t> completed) {
    return pg::DatabaseError("23505", "ERROR", "duplicate key value violates unique constraint \"t_pkey\"", "", "", 0,
                             completed);
  };
  CHECK(locate_error("003_x.sql", up, duplicate(1)) ==
        "003_x.sql:7: ERROR: duplicate key value violates unique constraint \"t_pkey\"");
  CHECK(locate_error("003_x.sql", up, duplicate(0)) ==
        "003_x.sql:5: ERROR: duplicate key value violates unique constraint \"t_pkey\"");
  SUBCASE("unknown, or past the file's statements: no line") {
    CHECK(locate_error("003_x.sql", up, duplicate(std::nullopt)) ==
          "003_x.sql: ERROR: duplicate key value violates unique constraint \"t_pkey\"");
    CHECK(locate_error("003_x.sql", up, duplicate(3)) ==
          "003_x.sql: ERROR: duplicate key value violates unique constraint \"t_pkey\"");
  }
  SUBCASE("semicolons inside strings, dollar quotes and comments do not count") {
    const ScriptSection tricky{"SELECT ';';\nDO $$ BEGIN PERFORM 1; END $$;\n/* ; */ CREATE TABLE t (id int);\n", 1};
    CHECK(locate_error("004_x.sql", tricky, duplicate(2)).rfind("004_x.sql:3: ", 0) == 0);
  }
}
