#include "sql_files/planner.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace migrate_init;

namespace {

MigrationFileName file(const std::string& version, const std::string& name) {
  return MigrationFileName{version, name, version + "_" + name + ".sql"};
}

LedgerRow row(const std::string& version, const std::string& name, const std::string& applied_at) {
  return LedgerRow{version, name, std::optional<std::string>("c0ffee"), applied_at, "applied", 0, 0, std::nullopt};
}

const std::vector<MigrationFileName> k_files{file("001", "init"), file("002", "users"), file("010", "orders")};

} // namespace

TEST_CASE("plan_migrations with an empty ledger makes every file pending, in order") {
  const Plan plan = plan_migrations(k_files, {});
  CHECK(plan.pending == std::vector<std::size_t>{0, 1, 2});
  CHECK(plan.applied == 0);
  CHECK(plan.without_file.empty());
}

TEST_CASE("plan_migrations with no files and no ledger has nothing to do") {
  const Plan plan = plan_migrations({}, {});
  CHECK(plan.pending.empty());
  CHECK(plan.applied == 0);
  CHECK(plan.without_file.empty());
}

TEST_CASE("plan_migrations leaves out what the ledger records") {
  const Plan plan = plan_migrations(k_files, {row("001", "init", "t1"), row("002", "users", "t2")});
  CHECK(plan.pending == std::vector<std::size_t>{2});
  CHECK(plan.applied == 2);
  CHECK(plan.without_file.empty());
}

TEST_CASE("plan_migrations finds a gap: an older file the ledger lacks is still pending") {
  const Plan plan = plan_migrations(k_files, {row("001", "init", "t1"), row("010", "orders", "t3")});
  CHECK(plan.pending == std::vector<std::size_t>{1});
  CHECK(plan.applied == 2);
}

TEST_CASE("plan_migrations matches versions numerically: ledger 1 is file 001") {
  const Plan plan = plan_migrations(k_files, {row("1", "init", "t1"), row("0002", "users", "t2")});
  CHECK(plan.pending == std::vector<std::size_t>{2});
  CHECK(plan.applied == 2);
  CHECK(plan.without_file.empty());
}

TEST_CASE("plan_migrations reports ledger rows without a file") {
  const Plan plan = plan_migrations({file("001", "init")},
                                    {row("001", "init", "t1"), row("3", "gone", "t3"), row("20240101", "later", "t4")});
  CHECK(plan.pending.empty());
  CHECK(plan.applied == 1);
  REQUIRE(plan.without_file.size() == 2);
  CHECK(plan.without_file[0].version == "3");
  CHECK(plan.without_file[0].name == "gone");
  CHECK(plan.without_file[1].version == "20240101");
}

TEST_CASE("status_entries merges files and ledger rows in version order") {
  const std::vector<StatusEntry> entries = status_entries(
      {file("2", "two"), file("10", "ten"), file("001", "one")},
      {row("1", "one", "2024-01-01 10:00:00+00"), row("5", "five", "2024-01-02 10:00:00+00"),
       row("10", "ten", "2024-01-03 10:00:00+00")});
  REQUIRE(entries.size() == 4);

  CHECK(entries[0].version == "001"); // the file's spelling, applied per the ledger's "1"
  CHECK(entries[0].name == "one");
  CHECK(entries[0].applied_at == std::optional<std::string>("2024-01-01 10:00:00+00"));
  CHECK_FALSE(entries[0].file_missing);

  CHECK(entries[1].version == "2");
  CHECK_FALSE(entries[1].applied_at.has_value()); // pending
  CHECK_FALSE(entries[1].file_missing);

  CHECK(entries[2].version == "5");
  CHECK(entries[2].name == "five");
  CHECK(entries[2].applied_at == std::optional<std::string>("2024-01-02 10:00:00+00"));
  CHECK(entries[2].file_missing);

  CHECK(entries[3].version == "10");
  CHECK(entries[3].applied_at == std::optional<std::string>("2024-01-03 10:00:00+00"));
  CHECK_FALSE(entries[3].file_missing);
}

TEST_CASE("status_entries with only ledger rows marks every one as missing its file") {
  const std::vector<StatusEntry> entries = status_entries({}, {row("20", "b", "t2"), row("3", "a", "t1")});
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].version == "3");
  CHECK(entries[1].version == "20");
  CHECK(entries[0].file_missing);
  CHECK(entries[1].file_missing);
}
