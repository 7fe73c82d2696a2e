// Waiting for the database: late servers are waited for, absent ones end in exit 4.
#include "binary.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace std::chrono_literals;

TEST_CASE("A database that comes up a few seconds late is waited for") {
  test::PgServer late; // initialised, not started
  const std::map<std::string, std::string> env{{"DATABASE_URL", late.url()},
                                               {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                               {"AUTO_MIGRATE_WAIT", "60"},
                                               {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}};
  test::Running migrating(test::Invocation{{"--", "echo", "service-ran"}, env});
  std::this_thread::sleep_for(3s);
  late.start();
  const auto outcome = migrating.wait(90s);
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out == "service-ran\n");
  CHECK(outcome.err.find("waiting for the database (attempt 1") != std::string::npos);
  CHECK(outcome.err.find("Connection refused") != std::string::npos);
  CHECK(outcome.err.find("database is up after") != std::string::npos);
  CHECK(outcome.err.find(test::PgServer::k_password) == std::string::npos);
  CHECK(late.scalar("postgres", "SELECT count(*) FROM schema_migrations") == "5");
}

TEST_CASE("An unreachable database ends in exit 4 after the wait") {
  const std::string url = "postgresql://app:" + std::string(test::PgServer::k_password) + "@127.0.0.1:" +
                          std::to_string(test::free_port()) + "/app";
  const std::map<std::string, std::string> env{
      {"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", test::example_migrations().string()}, {"AUTO_MIGRATE_WAIT", "2"}};

  SUBCASE("migrate") {
    const auto outcome = test::run({{"migrate"}, env});
    CHECK(outcome.exit_code == 4);
    CHECK(outcome.elapsed >= 2s);
    CHECK(outcome.elapsed < 15s);
    CHECK(outcome.err.find("database not reachable after") != std::string::npos);
    CHECK(outcome.err.find(test::PgServer::k_password) == std::string::npos);
  }
  SUBCASE("run with FAIL_ON_ERROR") {
    auto strict = env;
    strict["AUTO_MIGRATE_FAIL_ON_ERROR"] = "on";
    const auto outcome = test::run({{"--", "echo", "service-ran"}, strict});
    CHECK(outcome.exit_code == 4);
    CHECK(outcome.out.empty());
  }
  SUBCASE("run without FAIL_ON_ERROR starts the service anyway") {
    const auto outcome = test::run({{"--", "echo", "service-ran"}, env});
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.out == "service-ran\n");
    CHECK(outcome.err.find("database not reachable after") != std::string::npos);
  }
}
