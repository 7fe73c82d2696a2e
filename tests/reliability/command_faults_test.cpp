// Command mode under faults (issue 19): the holder's lock session ended at a random moment
// of a multi-step migrator, the server restarted mid-run, and migrate-init SIGKILLed while
// the migrator's setsid'd worker writes. The invariant in every trial: no statement of an
// old migrator (or of anything it started) commits after a new holder's migrator has
// started, and the final state is one complete run.
#include "common.hpp"
#include "../support/process_state.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using namespace reliability;

namespace {

constexpr int k_steps = 12; // as in k_migrator

// A server of these scenarios' own: one of them restarts it.
test::PgServer& command_server() {
  static test::PgServer server;
  server.start();
  return server;
}

// A shell migrator of k_steps steps, each an autocommit INSERT into `steps` 0.3 s apart (about
// 4.5 s in all, so that a waiter that takes the lock over overlaps what is left of it);
// step 0 records how many rows of other replicas it saw when it started. With a `worker`
// argument it first starts, in a session of its own (setsid), a worker that inserts into
// `worker_rows` every 50 ms until killed: it is not in the migrator's process group.
const char* const k_migrator = R"sh(#!/bin/sh
set -e
echo $$ > "$RECORDS/migrator.$WHO"
q() { /usr/bin/psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "$1"; }
q "CREATE TABLE IF NOT EXISTS steps (who text, step int, others_seen bigint)"
q "CREATE TABLE IF NOT EXISTS worker_rows (who text)"
if [ "$1" = worker ]; then
  setsid sh -c 'echo $$ > "$RECORDS/worker.$WHO"; while :; do /usr/bin/psql "$DATABASE_URL" -X -q -c "INSERT INTO worker_rows VALUES ('"'$WHO'"')"; sleep 0.05; done' </dev/null >/dev/null 2>&1 &
fi
q "INSERT INTO steps SELECT '$WHO', 0, (SELECT count(*) FROM steps WHERE who <> '$WHO') + (SELECT count(*) FROM worker_rows WHERE who <> '$WHO')"
i=1
while [ $i -le 12 ]; do
  q "INSERT INTO steps VALUES ('$WHO', $i, NULL)"
  sleep 0.3
  i=$((i + 1))
done
)sh";

struct CommandTrial {
  explicit CommandTrial(bool with_worker) : with_worker(with_worker) {
    const auto script = dir.write("migrator.sh", k_migrator);
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    std::filesystem::create_directories(dir.path() / "records");
  }

  test::Invocation replica(const std::string& who) const {
    const std::string command = (dir.path() / "migrator.sh").string() + (with_worker ? " worker" : "");
    return test::Invocation{{"migrate"},
                            {{"DATABASE_URL", server.url(db)},
                             {"AUTO_MIGRATE_COMMAND", command},
                             {"AUTO_MIGRATE_DIR", dir.path().string()},
                             {"AUTO_MIGRATE_LOCK_TIMEOUT", "120"},
                             {"RECORDS", (dir.path() / "records").string()},
                             {"WHO", who}}};
  }

  // Rows that `who` (its migrator and its worker) committed.
  long long rows_of(const std::string& who) const {
    return std::stoll(server.scalar(db, "SELECT (SELECT count(*) FROM steps WHERE who = '" + who +
                                            "') + (SELECT count(*) FROM worker_rows WHERE who = '" + who + "')"));
  }
  // What `who`'s migrator saw of the others when it started; -1 if it never started.
  long long others_seen_by(const std::string& who) const {
    const auto rows = server.query(db, "SELECT others_seen FROM steps WHERE who = '" + who + "' AND step = 0");
    return rows.empty() ? -1 : std::stoll(rows.front().front());
  }
  bool completed(const std::string& who) const {
    return server.scalar(db, "SELECT count(DISTINCT step) FROM steps WHERE who = '" + who + "'") ==
           std::to_string(k_steps + 1);
  }
  // Whether a process recorded as `name` (migrator.A, worker.A) still runs.
  bool still_runs(const std::string& name) const {
    std::ifstream in(dir.path() / "records" / name);
    long pid = 0;
    if (!(in >> pid) || pid <= 0) return false;
    const char state = test_support::process_state(static_cast<pid_t>(pid));
    return state != '\0' && state != 'Z';
  }
  void create_tables() const {
    server.query(db, "CREATE TABLE IF NOT EXISTS steps (who text, step int, others_seen bigint);"
                     "CREATE TABLE IF NOT EXISTS worker_rows (who text)");
  }

  bool with_worker;
  test::PgServer& server = command_server();
  std::string db = server.create_database();
  test::TempDir dir;
};

// The lock holder's backend, by the advisory lock it holds in `db`.
void terminate_lock_holder(const test::PgServer& server, const std::string& db) {
  server.query(db, "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                   " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()");
}

// Nothing of A committed after B's migrator started, and B's run is complete.
void check_fenced(const CommandTrial& trial, const std::string& old_who, const std::string& new_who) {
  const long long seen = trial.others_seen_by(new_who);
  REQUIRE(seen >= 0);
  CHECK(trial.rows_of(old_who) == seen);
  CHECK(trial.completed(new_who));
}

std::chrono::milliseconds random_moment(std::mt19937_64& random, int max_ms) {
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(0, max_ms)(random));
}

} // namespace

TEST_CASE("Command mode: the lock holder's session terminated at a random moment of a multi-step migrator: the "
          "holder kills its migrator and exits 6, the waiter runs the migrator after it, nothing of the old one "
          "commits after the new one started") {
  auto random = generator_for("command lock lost");
  const int trials = repetitions(4, 40);
  int lost = 0;
  for (int trial_number = 0; trial_number < trials; ++trial_number) {
    CommandTrial trial(false);
    test::Running holder(trial.replica("A"));
    REQUIRE(holder.wait_for_log("running the migrator"));
    test::Running waiter(trial.replica("B"));
    REQUIRE(waiter.wait_for_log("waiting for the migration lock"));
    std::this_thread::sleep_for(random_moment(random, 2200));
    terminate_lock_holder(trial.server, trial.db);
    const auto a = holder.wait();
    const auto b = waiter.wait(120s);
    CAPTURE(a.err);
    CAPTURE(b.err);
    CHECK(b.exit_code == 0);
    CHECK(joined(foreign_lines(a.err)) == "");
    if (a.exit_code == 0) { // the migrator had ended before the lock's session
      CHECK(trial.completed("A"));
      CHECK(trial.others_seen_by("B") == -1);
      continue;
    }
    ++lost;
    CHECK(a.exit_code == 6);
    CHECK(contains(a.err, "lost the migration lock while the migrator ran"));
    CHECK_FALSE(contains(a.err, "the migrator succeeded"));
    CHECK_FALSE(trial.still_runs("migrator.A"));
    check_fenced(trial, "A", "B");
  }
  report("command mode, lock session terminated: " + std::to_string(trials) + " trials, " + std::to_string(lost) +
         " mid-run");
}

TEST_CASE("Command mode: the server restarted at a random moment of a multi-step migrator: the holder never "
          "reports success, nothing of its migrator is left, and the next start completes") {
  auto random = generator_for("command restart");
  const int trials = repetitions(3, 30);
  for (int trial_number = 0; trial_number < trials; ++trial_number) {
    CommandTrial trial(false);
    test::Running holder(trial.replica("A"));
    REQUIRE(holder.wait_for_log("running the migrator"));
    std::this_thread::sleep_for(random_moment(random, 2200));
    trial.server.restart();
    const auto a = holder.wait();
    CAPTURE(a.err);
    CHECK(joined(foreign_lines(a.err)) == "");
    if (a.exit_code != 0) {
      // The lock's session ended first (6), or the migrator's own statement failed first (1).
      CHECK((a.exit_code == 6 || a.exit_code == 1));
      CHECK_FALSE(contains(a.err, "the migrator succeeded"));
    }
    CHECK_FALSE(trial.still_runs("migrator.A"));
    const auto c = test::run(trial.replica("C"), 120s);
    CAPTURE(c.err);
    CHECK(c.exit_code == 0);
    if (a.exit_code != 0) check_fenced(trial, "A", "C");
  }
  report("command mode, server restarted: " + std::to_string(trials) + " trials");
}

TEST_CASE("Command mode: migrate-init SIGKILLed at a random moment while its migrator's setsid'd worker writes: "
          "the worker is gone before another replica's migrator starts, and never writes after") {
  auto random = generator_for("command sigkill worker");
  const int trials = repetitions(4, 40);
  for (int trial_number = 0; trial_number < trials; ++trial_number) {
    CommandTrial trial(true);
    test::Running holder(trial.replica("A"));
    REQUIRE(holder.wait_for_log("running the migrator"));
    test::Running waiter(trial.replica("B"));
    REQUIRE(waiter.wait_for_log("waiting for the migration lock"));
    std::this_thread::sleep_for(random_moment(random, 1500));
    holder.signal(SIGKILL);
    const auto a = holder.wait();
    const auto b = waiter.wait(120s);
    CAPTURE(b.err);
    CHECK(a.exit_code == 128 + SIGKILL);
    CHECK(b.exit_code == 0);
    CHECK_FALSE(trial.still_runs("worker.A"));
    CHECK_FALSE(trial.still_runs("migrator.A"));
    const long long a_rows = trial.rows_of("A");
    std::this_thread::sleep_for(300ms); // a surviving worker would write within 50 ms
    CHECK(trial.rows_of("A") == a_rows);
    if (trial.others_seen_by("B") >= 0) check_fenced(trial, "A", "B");
  }
  report("command mode, SIGKILL with a setsid'd worker: " + std::to_string(trials) + " trials");
}
