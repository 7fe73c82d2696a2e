#include "sql_files/migration_file.hpp"

#include "error.hpp"
#include "text.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace migrate_init;

namespace {

std::vector<std::string> versions_of(const ClassifiedNames& names) {
  std::vector<std::string> versions;
  for (const auto& file : names.migrations) versions.push_back(file.version);
  return versions;
}

} // namespace

TEST_CASE("parse_migration_file_name splits version and name") {
  const auto parsed = parse_migration_file_name("001_initial_schema.sql");
  REQUIRE(parsed.has_value());
  CHECK(parsed->version == "001");
  CHECK(parsed->name == "initial_schema");
  CHECK(parsed->file_name == "001_initial_schema.sql");
  CHECK(parsed->id() == "001_initial_schema");
}

TEST_CASE("parse_migration_file_name splits at the first underscore only") {
  const auto parsed = parse_migration_file_name("20240101120000_add_users_table.sql");
  REQUIRE(parsed.has_value());
  CHECK(parsed->version == "20240101120000");
  CHECK(parsed->name == "add_users_table");
  CHECK(parsed->id() == "20240101120000_add_users_table");
}

TEST_CASE("parse_migration_file_name rejects names that do not follow <version>_<name>.sql") {
  const char* bad = nullptr;
  SUBCASE("no name") { bad = "001.sql"; }
  SUBCASE("version is not digits") { bad = "abc_x.sql"; }
  SUBCASE("version mixes digits and letters") { bad = "1a_x.sql"; }
  SUBCASE("upper-case suffix") { bad = "001_x.SQL"; }
  SUBCASE("empty name") { bad = "001_.sql"; }
  SUBCASE("empty version") { bad = "_x.sql"; }
  SUBCASE("another suffix after .sql") { bad = "001_x.sql.bak"; }
  SUBCASE("only the suffix") { bad = ".sql"; }
  SUBCASE("empty") { bad = ""; }
  SUBCASE("no suffix") { bad = "001_x"; }
  SUBCASE("a down migration of another tool") { bad = "001_x.down.sql.orig"; }
  REQUIRE(bad != nullptr);
  CAPTURE(bad);
  CHECK_FALSE(parse_migration_file_name(bad).has_value());
}

TEST_CASE("normalized_version drops leading zeros but keeps a single zero") {
  CHECK(normalized_version("001") == "1");
  CHECK(normalized_version("1") == "1");
  CHECK(normalized_version("100") == "100");
  CHECK(normalized_version("0") == "0");
  CHECK(normalized_version("0000") == "0");
  CHECK(normalized_version("00020240101") == "20240101");
}

TEST_CASE("compare_versions orders by numeric value whatever the length") {
  CHECK(compare_versions("2", "10") < 0);
  CHECK(compare_versions("10", "2") > 0);
  CHECK(compare_versions("001", "1") == 0);
  CHECK(compare_versions("007", "0007") == 0);
  CHECK(compare_versions("0", "000") == 0);
  CHECK(compare_versions("20240101120000", "9") > 0);
  CHECK(compare_versions("9", "20240101120000") < 0);
  CHECK(compare_versions("009", "10") < 0);
  // Longer than any integer type: still compared exactly.
  CHECK(compare_versions("123456789012345678901234567890", "123456789012345678901234567891") < 0);
  CHECK(compare_versions("99999999999999999999", "100000000000000000000") < 0);
  // The result is exactly -1, 0 or 1, as documented.
  CHECK(compare_versions("1", "3") == -1);
  CHECK(compare_versions("3", "1") == 1);
}

TEST_CASE("classify_file_names orders migrations numerically") {
  const ClassifiedNames names =
      classify_file_names({"10_ten.sql", "2_two.sql", "001_one.sql", "20240101120000_late.sql", "9_nine.sql"});
  CHECK(versions_of(names) == std::vector<std::string>{"001", "2", "9", "10", "20240101120000"});
  CHECK(names.migrations.front().file_name == "001_one.sql");
  CHECK(names.ignored.empty());
  CHECK(names.expected_extras.empty());
}

TEST_CASE("classify_file_names sets READMEs and dotfiles aside quietly and warns about the rest") {
  const ClassifiedNames names = classify_file_names(
      {"README.md", "readme.txt", ".gitkeep", ".DS_Store", "001_a.sql", "notes.txt", "001_x.SQL", "002_b.sql.bak"});
  CHECK(versions_of(names) == std::vector<std::string>{"001"});
  CHECK(names.expected_extras == std::vector<std::string>{"README.md", "readme.txt", ".gitkeep", ".DS_Store"});
  // Sorted, so the warnings come in the same order on every machine.
  CHECK(names.ignored == std::vector<std::string>{"001_x.SQL", "002_b.sql.bak", "notes.txt"});
}

TEST_CASE("classify_file_names of nothing is empty") {
  const ClassifiedNames names = classify_file_names({});
  CHECK(names.migrations.empty());
  CHECK(names.ignored.empty());
  CHECK(names.expected_extras.empty());
}

TEST_CASE("classify_file_names refuses two files with one version and names both") {
  std::vector<std::string> files;
  SUBCASE("in one order") { files = {"001_a.sql", "1_b.sql", "002_c.sql"}; }
  SUBCASE("in the other order") { files = {"002_c.sql", "1_b.sql", "001_a.sql"}; }
  REQUIRE_FALSE(files.empty());
  try {
    classify_file_names(files);
    FAIL("accepted two migrations with one version");
  } catch (const UsageError&) {
    FAIL("a duplicate version is a migration failure, not a usage error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::migration_failed);
    const std::string message = e.what();
    CHECK(message == "two migrations have version 1: 001_a.sql and 1_b.sql");
  }
}

TEST_CASE("classify_file_names also refuses two identical versions with different names") {
  CHECK_THROWS_AS(classify_file_names({"003_a.sql", "003_b.sql"}), Error);
}

namespace {

// The message of the Error(migration_failed) that classify_file_names throws for `files`.
std::string refusal_of(const std::vector<std::string>& files) {
  try {
    classify_file_names(files);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::migration_failed);
    return e.what();
  }
  FAIL("classify_file_names accepted the names");
  return {};
}

} // namespace

TEST_CASE("classify_file_names refuses a migration whose name is not UTF-8, showing the bad bytes escaped") {
  struct Case {
    const char* what;
    std::string name;
    std::string shown;
  };
  const std::vector<Case> cases{
      {"a Latin-1 byte", "002_caf\xe9.sql", "002_caf\\xe9.sql"},
      {"a byte that is never UTF-8", "002_x\xff.sql", "002_x\\xff.sql"},
      {"a lone continuation byte", "002_\x80x.sql", "002_\\x80x.sql"},
      {"a sequence cut short", "002_\xe2\x82.sql", "002_\\xe2\\x82.sql"},
      {"an overlong '/'", "002_\xc0\xaf.sql", "002_\\xc0\\xaf.sql"},
      {"an overlong three-byte form", "002_\xe0\x80\xaf.sql", "002_\\xe0\\x80\\xaf.sql"},
      {"a UTF-16 surrogate", "002_\xed\xa0\x80.sql", "002_\\xed\\xa0\\x80.sql"},
      {"above U+10FFFF", "002_\xf4\x90\x80\x80.sql", "002_\\xf4\\x90\\x80\\x80.sql"},
      {"a five-byte lead", "002_\xf8\x88\x80\x80\x80.sql", "002_\\xf8\\x88\\x80\\x80\\x80.sql"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const std::string message = refusal_of({"001_ok.sql", c.name});
    CHECK(message.find("\"" + c.shown + "\"") != std::string::npos);
    CHECK(message.find("not valid UTF-8") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(is_valid_utf8(message)); // the raw bytes never reach the message
  }
}

TEST_CASE("classify_file_names names every migration that is not UTF-8, in order, in one message") {
  CHECK(refusal_of({"003_b\xff.sql", "001_ok.sql", "002_a\xe9.sql"}) ==
        "migration file names are not valid UTF-8: \"002_a\\xe9.sql\", \"003_b\\xff.sql\" (bytes that are not "
        "UTF-8 shown as \\xHH); rename the file: its name is recorded in the ledger and printed in JSON, which take "
        "UTF-8 only");
}

TEST_CASE("classify_file_names accepts UTF-8 names in any script, and sets aside other files that are not UTF-8") {
  const ClassifiedNames names = classify_file_names(
      {"001_café.sql", "002_日本語.sql", "003_😀.sql", "004_\xef\xbf\xbf.sql", "notes\xff.txt", "README\xe9"});
  CHECK(versions_of(names) == std::vector<std::string>{"001", "002", "003", "004"});
  CHECK(names.ignored == std::vector<std::string>{"notes\xff.txt"}); // warned about, with the name escaped
}
