// Many replicas at once, and the advisory lock.
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <random>
#include <thread>

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

// Issue 20, item 7: the repeated wait line said "connected 0 s ago" 12 s later (the holder
// is looked up once a minute), and a stop signal that came during one of the wait's queries
// said "while waiting for the database server".
TEST_CASE("While waiting for the lock, each wait line counts the holder's age to its own moment, and a stop "
          "signal at any moment of the wait is said to come while waiting for the lock") {
  const std::string db = shared_server().create_database();
  test::Session holder(shared_server(), db, "the-lock-holder");
  holder.exec("SELECT pg_advisory_lock(778)");
  const std::map<std::string, std::string> env{{"DATABASE_URL", shared_server().url(db)},
                                               {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                               {"AUTO_MIGRATE_LOCK_KEY", "778"}};
  SUBCASE("the holder's age") {
    test::Running waiter({{"--", "echo", "service-ran"}, env});
    // Two wait lines: at once, and 10 s later, give or take a poll (up to 3.75 s; "for 10 s"
    // or "for 12 s" under load): wait past that, then stop it.
    REQUIRE(waiter.wait_for_log("held by pid", 20s));
    std::this_thread::sleep_for(16s);
    waiter.signal(SIGTERM);
    const std::string log = waiter.wait(30s).err;
    std::vector<long> ages;
    for (std::size_t at = log.find("connected "); at != std::string::npos; at = log.find("connected ", at + 1)) {
      ages.push_back(std::stol(log.substr(at + 10)));
    }
    REQUIRE(ages.size() >= 2);
    INFO(log);
    CHECK(ages[1] >= ages[0] + 9);
  }
  SUBCASE("a stop signal at random moments") {
    // Each waiter polls and queries (try-lock, holder lookup) in turn; the signals fall at
    // random moments of that. Invariant: every one ends 143, naming the lock wait.
    std::mt19937 random{std::random_device{}()};
    std::uniform_int_distribution<int> delay_ms(0, 1500);
    std::vector<test::Running> waiters;
    for (int i = 0; i < 8; ++i) waiters.emplace_back(test::Invocation({"--", "echo", "service-ran"}, env));
    for (auto& waiter : waiters) REQUIRE(waiter.wait_for_log("waiting for the migration lock"));
    for (auto& waiter : waiters) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
      waiter.signal(SIGTERM);
    }
    for (auto& waiter : waiters) {
      const auto outcome = waiter.wait(30s);
      INFO(outcome.err);
      CHECK(outcome.exit_code == 143);
      CHECK(outcome.err.find("interrupted by SIGTERM while waiting for the migration lock (key 778)") !=
            std::string::npos);
      CHECK(outcome.err.find("waiting for the database server") == std::string::npos);
    }
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
  // Once it waits (before, a slow start, as under the sanitizers, could read the ledger after
  // the other replica had finished, and never wait)...
  REQUIRE(waiter.wait_for_log("waiting for the migration lock", 60s));
  // ...another replica applies everything under another lock, then the holder releases it.
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

namespace {

// Sessions ever opened to `db` (pg_stat_database.sessions, PostgreSQL 14+), asked from
// another database so that asking does not count. A backend's count reaches the view when
// it exits: the value is read until it has not moved for a second.
long settled_sessions(const std::string& db) {
  const std::string sql = "SELECT sessions FROM pg_stat_database WHERE datname = '" + db + "'";
  std::string last = shared_server().scalar("postgres", sql);
  for (int unchanged = 0; unchanged < 5;) {
    std::this_thread::sleep_for(200ms);
    const std::string now = shared_server().scalar("postgres", sql);
    unchanged = now == last ? unchanged + 1 : 0;
    last = now;
  }
  return std::stol(last);
}

} // namespace

// A fleet starting at once: one replica migrates, the others wait and are told by its
// release that the work is done. Before, every replica that found work pending opened a
// second connection for the pooler probe before it asked for the lock: 2 per replica on a
// fresh database, twice the connection storm. Then only a replica that found the lock free
// probed (the debug line "pooler probe" says which did); now, over TCP straight to the
// server, none does: the server sees each replica's own socket (pg::backend_link).
TEST_CASE("Replicas that wait for the lock and are told the work is done open one connection each") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  // The migration waits for a lock this test holds, until every waiter waits.
  dir.write("001_blocked.sql", "SELECT pg_advisory_xact_lock_shared(4242);\nCREATE TABLE blocked_done (id int);\n");
  const std::map<std::string, std::string> env{{"DATABASE_URL", shared_server().url(db)},
                                               {"AUTO_MIGRATE_DIR", dir.path().string()},
                                               {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"},
                                               {"AUTO_MIGRATE_LOG_LEVEL", "debug"}};
  const long before = settled_sessions(db);
  test::Session gate(shared_server(), db, "test-gate");
  gate.exec("SELECT pg_advisory_lock(4242)");
  test::Running holder(test::Invocation{{"--", "echo", "holder-started"}, env});
  REQUIRE(holder.wait_for_log("applying 001_blocked.sql"));
  std::vector<test::Running> waiters;
  for (int i = 0; i < 6; ++i) waiters.emplace_back(test::Invocation{{"--", "echo", "waiter-started"}, env});
  for (auto& waiter : waiters) REQUIRE(waiter.wait_for_log("waiting for the migration lock", 60s));
  gate.exec("SELECT pg_advisory_unlock(4242)");
  std::size_t waiters_probing = 0;
  for (auto& waiter : waiters) {
    const auto outcome = waiter.wait(60s);
    INFO(outcome.err);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.out == "waiter-started\n");
    CHECK(test::contains(outcome.err, "another instance applied them"));
    if (test::contains(outcome.err, "pooler probe")) ++waiters_probing;
  }
  const auto held = holder.wait(60s);
  INFO(held.err);
  CHECK(held.exit_code == 0);
  CHECK(test::contains(held.err, "applied 1 migration"));
  CHECK(test::contains(held.err, "this socket's own ends, connected directly"));
  CHECK_FALSE(test::contains(held.err, "pooler probe"));
  // One connection per replica and the gate's: no probe's. (Before the socket check, the
  // holder probed, and a waiter did when it found the lock free between the holder's
  // unlock and its NOTIFY; the code before that probed in all 6 waiters.)
  CHECK(waiters_probing == 0);
  CHECK(settled_sessions(db) - before == 7 + 1);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == "0");
}
