// Command mode where the way to the server could switch its safety nets off (issue 19): a
// DATABASE_URL that sets its own application_name and options, and PgBouncer, which refuses
// the options startup parameter. The built binary, a real PostgreSQL, a shell migrator (psql).
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"
#include "pgbouncer.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <thread>

using namespace std::chrono_literals;
using test::contains;
using test::shared_server;

namespace {

// The statement running in `db` whose text contains `needle`: its application_name, or ""
// if none shows within a few seconds.
std::string application_name_of_statement(const std::string& db, const std::string& needle) {
  for (int i = 0; i < 200; ++i) {
    const auto rows = shared_server().query(
        db, "SELECT application_name FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%" + needle +
                "%' AND pid <> pg_backend_pid()");
    if (!rows.empty()) return rows.front().front();
    std::this_thread::sleep_for(25ms);
  }
  return "";
}

// A migrator: replica A runs one long autocommit statement; any other records that it ran.
const char* const k_migrator = R"sh(#!/bin/sh
set -e
if [ "$WHO" = A ]; then
  /usr/bin/psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE a_done AS SELECT 1 AS one FROM pg_sleep(6)"
else
  /usr/bin/psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE IF NOT EXISTS b_ran (at timestamptz DEFAULT now()); INSERT INTO b_ran DEFAULT VALUES"
fi
)sh";

} // namespace

TEST_CASE("A DATABASE_URL with its own application_name and options: the migrator's sessions still carry the tag "
          "and the client check, so after kill -9 of the holder its autocommit statement never commits") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  const auto script = dir.write("migrator.sh", k_migrator);
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  const std::string url = shared_server().url(db) + "?application_name=web&options=-c%20statement_timeout%3D0";
  const auto replica = [&](const std::string& who) {
    return test::Invocation{{"migrate"},
                            {{"DATABASE_URL", url},
                             {"AUTO_MIGRATE_COMMAND", script.string()},
                             {"AUTO_MIGRATE_DIR", dir.path().string()},
                             {"WHO", who}}};
  };
  test::Running holder(replica("A"));
  const std::string tag = application_name_of_statement(db, "pg_sleep(6)");
  const auto statement_started = std::chrono::steady_clock::now();
  CHECK(tag.starts_with("migrate-init-migrator "));
  test::Running next(replica("B"));
  REQUIRE(next.wait_for_log("waiting for the migration lock"));
  holder.signal(SIGKILL);
  CHECK(holder.wait().exit_code == 128 + SIGKILL);
  const auto b = next.wait();
  CAPTURE(b.err);
  CHECK(b.exit_code == 0);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM b_ran") == "1");
  // Past the end A's statement would have had: it must have been cancelled, not committed.
  std::this_thread::sleep_until(statement_started + 7s);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('a_done') IS NULL") == "t");
}

TEST_CASE("Behind PgBouncer in session mode (it refuses the options startup parameter), the migrator connects, "
          "without the client check, and the log says so") {
  const std::string db = shared_server().create_database();
  test::PgBouncer bouncer("session");
  test::TempDir dir;
  const auto script = dir.write("migrator.sh", k_migrator);
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  const auto result = test::run({{"migrate"},
                                 {{"DATABASE_URL", bouncer.url(db)},
                                  {"AUTO_MIGRATE_COMMAND", script.string()},
                                  {"AUTO_MIGRATE_DIR", dir.path().string()},
                                  {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"},
                                  {"WHO", "B"}}});
  CAPTURE(result.err);
  CHECK(result.exit_code == 0);
  CHECK(contains(result.err, "refuses the startup parameter options"));
  CHECK(contains(result.err, "unsupported startup parameter: options"));
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM b_ran") == "1");
  CHECK_FALSE(contains(result.err, "the migrator failed"));
}
