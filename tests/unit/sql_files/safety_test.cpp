#include "sql_files/safety.hpp"

#include <doctest/doctest.h>

using namespace migrate_init;

namespace {

Migration file(const std::string& version, const std::string& name, const std::string& checksum,
               std::vector<std::string> problems = {}) {
  MigrationScript script;
  script.problems = std::move(problems);
  return Migration(MigrationFileName{version, name, version + "_" + name + ".sql"}, checksum, script);
}

LedgerRow row(const std::string& version, const std::string& name, std::optional<std::string> checksum,
              std::string state = "applied") {
  return LedgerRow{version, name, std::move(checksum), "2026-01-01", std::move(state), 1, 3,
                   std::optional<std::string>("statement 2 of 3: boom")};
}

SafetyReport check(const std::vector<Migration>& files, const std::vector<LedgerRow>& ledger, SafetyOptions options = {}) {
  std::vector<MigrationFileName> names;
  for (const auto& f : files) names.push_back(f.file);
  return check_safety(files, ledger, plan_migrations(names, ledger), options);
}

} // namespace

TEST_CASE("check_safety finds nothing when files and ledger agree") {
  const auto report = check({file("001", "a", "c1"), file("002", "b", "c2")}, {row("001", "a", "c1"), row("002", "b", "c2")});
  CHECK(report.errors.empty());
  CHECK(report.warnings.empty());
}

TEST_CASE("check_safety stops on drift with both checksums, or warns when drift is allowed") {
  const std::vector<Migration> files{file("001", "a", "new")};
  const std::vector<LedgerRow> ledger{row("001", "a", "old")};
  const auto report = check(files, ledger);
  REQUIRE(report.errors.size() == 1);
  CHECK(report.errors[0].code == ExitCode::refused);
  CHECK(report.errors[0].message.find("001_a.sql changed after it was applied: the file's checksum is new, the ledger "
                                      "recorded old") == 0);
  const auto allowed = check(files, ledger, {true, false});
  CHECK(allowed.errors.empty());
  CHECK(allowed.warnings.size() == 1);
  // A row adopted without a checksum cannot drift.
  CHECK(check(files, {row("001", "a", std::nullopt)}).errors.empty());
}

TEST_CASE("check_safety stops on a pending file older than the newest applied one, unless allowed") {
  const std::vector<Migration> files{file("1", "a", "c1"), file("2", "b", "c2"), file("10", "c", "c3")};
  const std::vector<LedgerRow> ledger{row("1", "a", "c1"), row("10", "c", "c3")};
  const auto report = check(files, ledger);
  REQUIRE(report.errors.size() == 1);
  CHECK(report.errors[0].code == ExitCode::refused);
  CHECK(report.errors[0].message.find("2_b.sql is pending but a later migration, 10_c, is already applied") == 0);
  CHECK(check(files, ledger, {false, true}).errors.empty());
  // Numeric, not text, order: 9 after 10 is out of order, 11 is not.
  CHECK(check({file("11", "d", "c4"), file("10", "c", "c3")}, {row("10", "c", "c3")}).errors.empty());
}

TEST_CASE("check_safety refuses an unfinished migration with the repair commands") {
  const auto report = check({file("001", "a", "c1")}, {row("001", "a", "c1", "running")});
  REQUIRE(report.errors.size() == 1);
  CHECK(report.errors[0].code == ExitCode::refused);
  CHECK(report.errors[0].message ==
        "migration 001_a is unfinished: 1 of 3 statements done, then statement 2 of 3: boom; run `migrate-init repair "
        "001 --retry` to resume at statement 2, or `migrate-init repair 001 --applied` if you completed it by hand");
}

TEST_CASE("check_safety reports a pending file's problems but not an applied one's") {
  const auto report = check({file("001", "a", "c1", {"001_a.sql:1: bad"}), file("002", "b", "c2", {"002_b.sql:3: worse"})},
                            {row("001", "a", "c1")});
  REQUIRE(report.errors.size() == 1);
  CHECK(report.errors[0].code == ExitCode::migration_failed);
  CHECK(report.errors[0].message == "002_b.sql:3: worse");
}

TEST_CASE("check_safety only warns about a ledger row whose file is gone") {
  const auto report = check({file("001", "a", "c1")}, {row("001", "a", "c1"), row("002", "b", "c2")});
  CHECK(report.errors.empty());
  REQUIRE(report.warnings.size() == 1);
  CHECK(report.warnings[0].find("records migration 002_b, which has no file here") != std::string::npos);
}
