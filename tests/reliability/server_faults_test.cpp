// Server faults: PostgreSQL restarted, and migrate-init's backend terminated, in the
// middle of a migration and while it waits for the lock.
#include "common.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <thread>

using namespace std::chrono_literals;
using namespace reliability;

namespace {

// A server of these scenarios' own: restarting the shared one would break other scenarios'
// sessions.
test::PgServer& fault_server() {
  static test::PgServer server;
  server.start();
  return server;
}

// 001 and 003 are quick; 002 sleeps (sleep_statement()), which opens a window for the
// fault, and the sleep is set to 0 for the start after it. Changing a setting instead of the
// file keeps the next start honest: same files, no drift.
struct FaultScenario {
  explicit FaultScenario(bool slow_file_without_transaction) {
    const std::string sleep = sleep_statement();
    migrations.write(checkable_file_name(1), checkable_migration(1, false));
    migrations.write(checkable_file_name(2), checkable_migration(2, slow_file_without_transaction, sleep));
    migrations.write(checkable_file_name(3), checkable_migration(3, false));
    set_sleep(60);
  }

  void set_sleep(int seconds) const { set_sleep_seconds(server, db, seconds); }
  std::map<std::string, std::string> env() const {
    return {{"DATABASE_URL", server.url(db)},
            {"AUTO_MIGRATE_DIR", migrations.path().string()},
            {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}};
  }
  // The service command: proves whether the service started.
  std::vector<std::string> args() const { return {"--", "/usr/bin/touch", marker().string()}; }
  std::filesystem::path marker() const { return markers.path() / "service-started"; }

  test::PgServer& server = fault_server();
  std::string db = server.create_database();
  test::TempDir migrations;
  test::TempDir markers;
};

// The fault ended the run cleanly: no crash (an exit code, not a signal), no foreign
// output, one error line saying what happened, then the summary; no service started.
void check_clean_failure(const FaultScenario& scenario, const test::Outcome& outcome, int expected_exit_code,
                         const std::string& what_the_error_says) {
  CAPTURE(outcome.err);
  CHECK(outcome.exit_code == expected_exit_code);
  CHECK(joined(foreign_lines(outcome.err)) == "");
  const auto errors = error_lines(outcome.err);
  REQUIRE(errors.size() == 2);
  CHECK(contains(errors[0], what_the_error_says));
  CHECK(contains(errors[1], "summary: failed: "));
  CHECK(contains(errors[1], "not starting the service"));
  CHECK_FALSE(std::filesystem::exists(scenario.marker()));
  report("fault ended the run with exit " + std::to_string(outcome.exit_code) + ": " + errors[0]);
}

// The start after the fault (with the window closed) applies what is left and starts the
// service; everything applied exactly once.
void check_next_start_completes(const FaultScenario& scenario) {
  scenario.set_sleep(0);
  const auto next = test::run({scenario.args(), scenario.env()});
  CAPTURE(next.err);
  CHECK(next.exit_code == 0);
  CHECK(std::filesystem::exists(scenario.marker()));
  CHECK(joined(error_lines(next.err)) == "");
  const LedgerAndSchema state = inspect(scenario.server, scenario.db);
  CHECK(state.applied() == std::set<int>{1, 2, 3});
  CHECK(disagreement(state) == "");
}

void terminate_backend(const test::PgServer& server, const std::string& pid) {
  REQUIRE_FALSE(pid.empty());
  CHECK(server.scalar("postgres", "SELECT pg_terminate_backend(" + pid + ")") == "t");
}

// Starts migrate-init, waits until it runs the slow file 002, injects `fault`.
test::Outcome fault_during_migration(const FaultScenario& scenario, const std::function<void()>& fault) {
  test::Running victim(test::Invocation{scenario.args(), scenario.env()});
  REQUIRE(victim.wait_for_log("applying " + checkable_file_name(2)));
  REQUIRE_FALSE(migrate_init_backend(scenario.server, scenario.db, "%pg_sleep%").empty()); // inside the window
  fault();
  return victim.wait(60s);
}

} // namespace

TEST_CASE("A PostgreSQL restart in the middle of a transactional migration fails it cleanly; the next start applies it") {
  FaultScenario scenario(/*slow_file_without_transaction=*/false);
  const auto outcome = fault_during_migration(scenario, [&] { scenario.server.restart(); });
  check_clean_failure(scenario, outcome, 1, "migration 002_step_2 failed: ");
  // Rolled back: 001 only, and no trace of 002.
  const LedgerAndSchema state = inspect(scenario.server, scenario.db);
  CHECK(state.applied() == std::set<int>{1});
  CHECK(disagreement(state) == "");
  check_next_start_completes(scenario);
}

TEST_CASE("pg_terminate_backend in the middle of a transactional migration fails it cleanly; the next start applies it") {
  FaultScenario scenario(/*slow_file_without_transaction=*/false);
  const auto outcome = fault_during_migration(scenario, [&] {
    terminate_backend(scenario.server, migrate_init_backend(scenario.server, scenario.db, "%pg_sleep%"));
  });
  check_clean_failure(scenario, outcome, 1, "migration 002_step_2 failed: ");
  const LedgerAndSchema state = inspect(scenario.server, scenario.db);
  CHECK(state.applied() == std::set<int>{1});
  CHECK(disagreement(state) == "");
  check_next_start_completes(scenario);
}

TEST_CASE("pg_terminate_backend in the middle of a no-transaction migration leaves it unfinished; repair --retry completes it") {
  FaultScenario scenario(/*slow_file_without_transaction=*/true);
  const auto outcome = fault_during_migration(scenario, [&] {
    terminate_backend(scenario.server, migrate_init_backend(scenario.server, scenario.db, "%pg_sleep%"));
  });
  // The error line names the file, the statement (the sleep is statement 2) and the repair
  // command; recording the error in the ledger fails too, which must not replace it.
  check_clean_failure(scenario, outcome, 1, "migration 002_step_2 failed: statement 2 of 3: 002_step_2.sql:3: ");
  // The server's FATAL, or the socket's end if libpq read that first: said the same way.
  CHECK(contains(outcome.err, "lost the connection to the database server"));
  CHECK(contains(outcome.err, "`migrate-init repair 002 --retry`"));
  const LedgerAndSchema state = inspect(scenario.server, scenario.db);
  CHECK(state.applied() == std::set<int>{1});
  CHECK(state.unfinished() == std::set<int>{2});

  // README: the next start stops with exit 5 and the repair command.
  scenario.set_sleep(0);
  const auto refused = test::run({scenario.args(), scenario.env()});
  CAPTURE(refused.err);
  CHECK(refused.exit_code == 5);
  CHECK(contains(refused.err, "`migrate-init repair 002 --retry`"));
  CHECK_FALSE(std::filesystem::exists(scenario.marker()));
  const auto repaired = test::run({{"repair", "002", "--retry"}, scenario.env()});
  CAPTURE(repaired.err);
  CHECK(repaired.exit_code == 0);
  check_next_start_completes(scenario);
}

namespace {

// Another session holds the migration lock; migrate-init waits for it (and names it), then
// `fault` strikes during the wait.
test::Outcome fault_during_lock_wait(const FaultScenario& scenario, const std::function<void(test::Session&)>& fault) {
  test::Session holder(scenario.server, scenario.db, "reliability-holder");
  const std::string holder_pid = holder.exec("SELECT pg_backend_pid()");
  holder.exec("SELECT pg_advisory_lock(" + derived_lock_key(scenario.server, scenario.db) + ")");
  test::Running waiter(test::Invocation{scenario.args(), scenario.env()});
  REQUIRE(waiter.wait_for_log("held by pid " + holder_pid + " (reliability-holder, 127.0.0.1"));
  fault(holder);
  return waiter.wait(60s);
}

} // namespace

TEST_CASE("A PostgreSQL restart during the lock wait ends the wait cleanly; the next start completes") {
  FaultScenario scenario(/*slow_file_without_transaction=*/false);
  const auto outcome = fault_during_lock_wait(scenario, [&](test::Session&) { scenario.server.restart(); });
  // README: a connection lost after connecting ends the run with exit 1, without retrying.
  check_clean_failure(scenario, outcome, 1, "waiting for the migration lock (key ");
  CHECK(contains(outcome.err, "lost the connection to the database server"));
  CHECK_FALSE(contains(outcome.err, "invalid socket")); // the tail of libpq's multi-line text
  CHECK(inspect(scenario.server, scenario.db).ledger.empty());
  check_next_start_completes(scenario);
}

TEST_CASE("pg_terminate_backend of the waiting session ends the wait cleanly; the next start completes") {
  FaultScenario scenario(/*slow_file_without_transaction=*/false);
  const auto outcome = fault_during_lock_wait(scenario, [&](test::Session&) {
    terminate_backend(scenario.server, migrate_init_backend(scenario.server, scenario.db));
  });
  check_clean_failure(scenario, outcome, 1, "waiting for the migration lock (key ");
  CHECK(contains(outcome.err, "lost the connection to the database server"));
  CHECK_FALSE(contains(outcome.err, "invalid socket"));
  CHECK(inspect(scenario.server, scenario.db).ledger.empty());
  check_next_start_completes(scenario); // the holder's session is gone with the scope above
}
