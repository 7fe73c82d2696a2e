// Many replicas at once, and the advisory lock.
#include "binary.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using test::shared_server;

TEST_CASE("Eight copies started at once apply every migration exactly once, then all run their command") {
  const std::string db = shared_server().create_database();
  const std::map<std::string, std::string> env{{"DATABASE_URL", shared_server().url(db)},
                                               {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                               {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}};
  std::vector<test::Running> replicas;
  for (int i = 0; i < 8; ++i) {
    replicas.emplace_back(test::Invocation{{"--", "echo", "replica-" + std::to_string(i) + "-started"}, env});
  }
  std::string all_logs;
  std::size_t migrating_replicas = 0;
  for (int i = 0; i < 8; ++i) {
    const auto outcome = replicas[static_cast<std::size_t>(i)].wait(120s);
    CAPTURE(outcome.err);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.out == "replica-" + std::to_string(i) + "-started\n");
    CHECK(outcome.err.find(" error: ") == std::string::npos);
    if (outcome.err.find("applied 5 migrations") != std::string::npos) ++migrating_replicas;
    all_logs += outcome.err;
  }
  CHECK(migrating_replicas == 1);
  for (const char* file : {"001_initial_schema.sql", "002_add_scheduling_and_priority.sql", "003_add_run_edges.sql",
                           "004_add_queue_claim_indexes.sql", "005_add_step_ordering_constraints.sql"}) {
    CAPTURE(file);
    CHECK(test::count(all_logs, std::string("applying ") + file) == 1);
  }
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations") == "5");
}

TEST_CASE("A lock held by another session ends a short lock wait in exit 3, naming the holder") {
  const std::string db = shared_server().create_database();
  test::Session holder(shared_server(), db, "the-lock-holder");
  const std::string holder_pid = holder.exec("SELECT pg_backend_pid()");
  holder.exec("SELECT pg_advisory_lock(777)");

  const std::map<std::string, std::string> env{{"DATABASE_URL", shared_server().url(db)},
                                               {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                               {"AUTO_MIGRATE_LOCK_KEY", "777"},
                                               {"AUTO_MIGRATE_LOCK_TIMEOUT", "2"},
                                               {"AUTO_MIGRATE_FAIL_ON_ERROR", "yes"}};
  const auto result = test::run({{"--", "echo", "service-ran"}, env});
  CHECK(result.exit_code == 3);
  CHECK(result.out.empty());
  CHECK(result.elapsed >= 2s);
  CHECK(result.elapsed < 15s);
  CHECK(result.err.find("held by pid " + holder_pid + " (the-lock-holder, 127.0.0.1") != std::string::npos);
  CHECK(result.err.find("gave up waiting for the migration lock (key 777)") != std::string::npos);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('schema_migrations') IS NULL") == "t");

  SUBCASE("and once the holder lets go, the next start migrates") {
    holder.exec("SELECT pg_advisory_unlock(777)");
    const auto next = test::run({{"--", "echo", "service-ran"}, env});
    CHECK(next.exit_code == 0);
    CHECK(next.out == "service-ran\n");
    CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations") == "5");
  }
}

TEST_CASE("Replicas waiting for the lock find the work done and apply nothing") {
  const std::string db = shared_server().create_database();
  test::Session holder(shared_server(), db, "slow-migrator");
  holder.exec("SELECT pg_advisory_lock(91)");
  const std::map<std::string, std::string> env{{"DATABASE_URL", shared_server().url(db)},
                                               {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                               {"AUTO_MIGRATE_LOCK_KEY", "91"}};
  test::Running waiter(test::Invocation{{"migrate"}, env});
  // Meanwhile "another replica" applies everything under the lock, then releases it.
  REQUIRE(test::run({{"migrate"}, {{"DATABASE_URL", shared_server().url(db)},
                                   {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                   {"AUTO_MIGRATE_LOCK_KEY", "92"}}})
              .exit_code == 0);
  holder.exec("SELECT pg_advisory_unlock(91)");
  const auto outcome = waiter.wait(60s);
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.err.find("waiting for the migration lock") != std::string::npos);
  CHECK(outcome.err.find("another instance applied them") != std::string::npos);
  CHECK(outcome.err.find("applying") == std::string::npos);
}
