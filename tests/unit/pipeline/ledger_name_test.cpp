#include "pipeline/ledger_name.hpp"

#include "error.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace migrate_init;

TEST_CASE("parse_ledger_name reads a plain table name with no schema") {
  const LedgerName name = parse_ledger_name("AUTO_MIGRATE_TABLE", "schema_migrations");
  CHECK_FALSE(name.schema.has_value());
  CHECK(name.table == "schema_migrations");
  CHECK(name.quoted() == "\"schema_migrations\"");
  CHECK(name.display() == "schema_migrations");
}

TEST_CASE("parse_ledger_name splits a schema-qualified name at the dot") {
  const LedgerName name = parse_ledger_name("AUTO_MIGRATE_TABLE", "app_meta.Applied$1");
  REQUIRE(name.schema.has_value());
  CHECK(*name.schema == "app_meta");
  CHECK(name.table == "Applied$1");
  // Case is kept: the name is used exactly as written, quoted.
  CHECK(name.quoted() == "\"app_meta\".\"Applied$1\"");
  CHECK(name.display() == "app_meta.Applied$1");
}

TEST_CASE("a default LedgerName is the unqualified schema_migrations table") {
  const LedgerName name;
  CHECK(name.quoted() == "\"schema_migrations\"");
  CHECK(name.display() == "schema_migrations");
}

TEST_CASE("parse_ledger_name accepts identifiers up to PostgreSQL's 63-byte limit") {
  const std::string longest(63, 't');
  CHECK(parse_ledger_name("AUTO_MIGRATE_TABLE", longest).table == longest);
  CHECK(parse_ledger_name("AUTO_MIGRATE_TABLE", "s." + longest).table == longest);
  CHECK_THROWS_AS(parse_ledger_name("AUTO_MIGRATE_TABLE", longest + "t"), UsageError);
  CHECK_THROWS_AS(parse_ledger_name("AUTO_MIGRATE_TABLE", longest + "s.t"), UsageError);
}

TEST_CASE("parse_ledger_name rejects names that are not one or two plain identifiers") {
  const char* bad = nullptr;
  SUBCASE("three parts") { bad = "a.b.c"; }
  SUBCASE("empty") { bad = ""; }
  SUBCASE("starts with a digit") { bad = "1abc"; }
  SUBCASE("starts with a dollar sign") { bad = "$abc"; }
  SUBCASE("contains a space") { bad = "a b"; }
  SUBCASE("contains a semicolon") { bad = "a;drop"; }
  SUBCASE("contains a double quote") { bad = "a\"b"; }
  SUBCASE("contains a hyphen") { bad = "my-table"; }
  SUBCASE("empty schema") { bad = ".table"; }
  SUBCASE("empty table") { bad = "schema."; }
  SUBCASE("table part starts with a digit") { bad = "public.1abc"; }
  SUBCASE("non-ASCII letters") { bad = "caf\xC3\xA9"; }
  REQUIRE(bad != nullptr);
  CAPTURE(bad);
  try {
    parse_ledger_name("AUTO_MIGRATE_TABLE", bad);
    FAIL("accepted an invalid table name");
  } catch (const UsageError& e) {
    const std::string message = e.what();
    CHECK(message.find("AUTO_MIGRATE_TABLE: ") == 0);
    CHECK(message.find("is not a table name") != std::string::npos);
  }
}

TEST_CASE("quote_identifier wraps in double quotes and doubles embedded ones") {
  CHECK(quote_identifier("t") == "\"t\"");
  CHECK(quote_identifier("") == "\"\"");
  CHECK(quote_identifier("a\"b") == "\"a\"\"b\"");
  CHECK(quote_identifier("\"") == "\"\"\"\"");
  CHECK(quote_identifier("x\"; DROP TABLE t; --") == "\"x\"\"; DROP TABLE t; --\"");
}
