// Replica storm: many copies started at the same moment on an empty database, again and again.
#include "common.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace std::chrono_literals;
using namespace reliability;
using test::shared_server;

namespace {

constexpr int k_copies = 32;
constexpr int k_files = 12;

} // namespace

TEST_CASE("Thirty-two copies started together on an empty database apply each migration exactly once and all start") {
  const int rounds = repetitions(2, 20);
  test::TempDir migrations;
  write_checkable_set(migrations, k_files, /*no_transaction_every=*/6); // 006 and 012 run statement by statement
  // A slower file keeps the lock held long enough for every copy to queue behind it.
  migrations.write(checkable_file_name(3), checkable_migration(3, false, "SELECT pg_sleep(0.3);\n"));

  for (int round = 1; round <= rounds; ++round) {
    CAPTURE(round);
    const std::string db = shared_server().create_database();
    test::TempDir markers;
    std::vector<test::Running> copies;
    const auto started = std::chrono::steady_clock::now();
    for (int copy = 0; copy < k_copies; ++copy) {
      // Half the copies log JSON, so that both formats are checked for error lines.
      copies.emplace_back(test::Invocation{
          {"--", "/usr/bin/touch", (markers.path() / ("started-" + std::to_string(copy))).string()},
          {{"DATABASE_URL", shared_server().url(db)},
           {"AUTO_MIGRATE_DIR", migrations.path().string()},
           {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"},
           {"AUTO_MIGRATE_LOG_FORMAT", copy % 2 ? "json" : "text"}}});
    }
    std::string all_logs;
    int waited_for_the_lock = 0;
    for (int copy = 0; copy < k_copies; ++copy) {
      CAPTURE(copy);
      const auto outcome = copies[static_cast<std::size_t>(copy)].wait(120s);
      CAPTURE(outcome.err);
      CHECK(outcome.exit_code == 0);
      CHECK(std::filesystem::exists(markers.path() / ("started-" + std::to_string(copy))));
      CHECK(joined(error_lines(outcome.err)) == "");
      CHECK(joined(foreign_lines(outcome.err)) == "");
      if (contains(outcome.err, "waiting for the migration lock")) ++waited_for_the_lock;
      all_logs += outcome.err;
    }
    const auto all_started = std::chrono::steady_clock::now() - started;

    for (int number = 1; number <= k_files; ++number) {
      CAPTURE(number);
      CHECK(test::count(all_logs, "applying " + checkable_file_name(number)) == 1);
    }
    const LedgerAndSchema state = inspect(shared_server(), db);
    CHECK(state.applied().size() == static_cast<std::size_t>(k_files));
    CHECK(state.unfinished().empty());
    CHECK(state.tables().size() == static_cast<std::size_t>(k_files));
    CHECK(disagreement(state) == "");
    report("storm round " + std::to_string(round) + "/" + std::to_string(rounds) + ": " + std::to_string(k_copies) +
           " copies all started their command within " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(all_started).count()) + " ms; " +
           std::to_string(waited_for_the_lock) + " logged a lock wait");
  }
}
