// migrate-init as PID 1 (in a fresh PID namespace) and as a supervising parent: exit
// codes, signal forwarding, reaping, stop timeout, and stop signals while migrating.
#include "binary.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <thread>

using namespace std::chrono_literals;
using test::Invocation;
using test::Running;

namespace {

// The two ways migrate-init supervises: as PID 1 (mode auto), and as an ordinary
// process told to supervise (it then becomes a child subreaper).
struct Supervision {
  const char* name;
  bool as_pid1;
  std::vector<std::string> flags;
};
const Supervision k_supervisions[] = {{"as PID 1", true, {}}, {"not PID 1, --mode=supervise", false, {"--mode=supervise"}}};

std::vector<std::string> args(const Supervision& how, std::vector<std::string> command) {
  std::vector<std::string> all = how.flags;
  all.push_back("--");
  all.insert(all.end(), command.begin(), command.end());
  return all;
}

const std::map<std::string, std::string> k_no_migration{{"AUTO_MIGRATE", "false"}};

} // namespace

TEST_CASE("Exit codes pass through; a child killed by signal N gives 128+N") {
  for (const auto& how : k_supervisions) {
    CAPTURE(how.name);
    for (int code : {0, 3, 255}) {
      const auto outcome = Running(Invocation(args(how, {"sh", "-c", "exit " + std::to_string(code)}), k_no_migration),
                                   how.as_pid1)
                               .wait();
      CHECK(outcome.exit_code == code);
    }
    CHECK(Running(Invocation(args(how, {"sh", "-c", "kill -KILL $$"}), k_no_migration), how.as_pid1).wait().exit_code == 137);
    CHECK(Running(Invocation(args(how, {"sh", "-c", "kill -TERM $$"}), k_no_migration), how.as_pid1).wait().exit_code == 143);
  }
}

TEST_CASE("Each forwarded signal reaches the service") {
  const std::vector<std::string> signals{"HUP", "INT", "QUIT", "USR1", "USR2", "WINCH", "ALRM", "CONT", "TSTP", "PIPE"};
  std::string script;
  for (const auto& name : signals) script += "trap 'echo got-" + name + "' " + name + "; ";
  script += "trap 'echo got-TERM; exit 0' TERM; echo ready; while :; do sleep 0.02; done";

  for (const auto& how : k_supervisions) {
    CAPTURE(how.name);
    Running running(Invocation(args(how, {"sh", "-c", script}), k_no_migration), how.as_pid1);
    REQUIRE(running.wait_for_output("ready\n"));
    for (const auto& name : signals) {
      CAPTURE(name);
      const int number = name == "HUP" ? SIGHUP : name == "INT" ? SIGINT : name == "QUIT" ? SIGQUIT
                       : name == "USR1" ? SIGUSR1 : name == "USR2" ? SIGUSR2 : name == "WINCH" ? SIGWINCH
                       : name == "ALRM" ? SIGALRM : name == "CONT" ? SIGCONT : name == "TSTP" ? SIGTSTP : SIGPIPE;
      running.signal(number);
      CHECK(running.wait_for_output("got-" + name + "\n", 10s));
    }
    running.signal(SIGTERM);
    const auto outcome = running.wait(20s);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.out.find("got-TERM\n") != std::string::npos);
  }
}

TEST_CASE("Job-control signals aimed at migrate-init do not stop it") {
  Running running(Invocation({"--", "sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.02; done"},
                             k_no_migration),
                  true);
  REQUIRE(running.wait_for_output("ready\n"));
  running.signal(SIGTTIN);
  running.signal(SIGTTOU);
  std::this_thread::sleep_for(200ms);
  std::ifstream status("/proc/" + std::to_string(running.pid()) + "/status");
  std::string line;
  while (std::getline(status, line) && line.rfind("State:", 0) != 0) {}
  CHECK(line.find("T (stopped)") == std::string::npos);
  running.signal(SIGTERM);
  CHECK(running.wait(20s).exit_code == 0);
}

TEST_CASE("--process-group forwards to the service's whole process group") {
  const std::string script =
      "trap 'echo parent-got-USR1' USR1; trap 'exit 0' TERM; "
      "sh -c 'trap \"echo grandchild-got-USR1; exit 0\" USR1; echo grandchild-ready; while :; do sleep 0.02; done' & "
      "while :; do sleep 0.02; done";
  for (bool group : {true, false}) {
    CAPTURE(group);
    std::map<std::string, std::string> env = k_no_migration;
    env["AUTO_MIGRATE_PROCESS_GROUP"] = group ? "true" : "false";
    Running running(Invocation({"--", "sh", "-c", script}, env), true);
    REQUIRE(running.wait_for_output("grandchild-ready\n"));
    running.signal(SIGUSR1);
    CHECK(running.wait_for_output("parent-got-USR1\n", 10s));
    if (group) {
      CHECK(running.wait_for_output("grandchild-got-USR1\n", 10s));
    } else {
      std::this_thread::sleep_for(300ms);
      CHECK(running.output().find("grandchild-got-USR1") == std::string::npos);
    }
    running.signal(SIGTERM);
    CHECK(running.wait(20s).exit_code == 0);
  }
}

TEST_CASE("Orphaned grandchildren are re-parented to migrate-init and reaped") {
  // The inner shell leaves `sleep` behind and exits; the orphan must come back to
  // migrate-init (PID 1, or a subreaper) and, once it exits, must not stay <defunct>.
  const std::string script =
      "orphan=$(sh -c 'sleep 0.4 >/dev/null & echo $!'); sleep 0.2; "
      "grep -q \"^PPid:[[:space:]]*$PPID\\$\" /proc/$orphan/status && echo reparented; sleep 0.8; "
      "zombies=0; for f in /proc/[0-9]*/status; do "
      "  if grep -q '^State:.*Z' \"$f\" 2>/dev/null && grep -q \"^PPid:[[:space:]]*$PPID\\$\" \"$f\"; then "
      "    zombies=$((zombies+1)); fi; done; echo zombies=$zombies";
  for (const auto& how : k_supervisions) {
    CAPTURE(how.name);
    const auto outcome = Running(Invocation(args(how, {"sh", "-c", script}), k_no_migration), how.as_pid1).wait();
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.out == "reparented\nzombies=0\n");
  }
}

TEST_CASE("A service that ignores SIGTERM is SIGKILLed after AUTO_MIGRATE_STOP_TIMEOUT") {
  std::map<std::string, std::string> env = k_no_migration;
  env["AUTO_MIGRATE_STOP_TIMEOUT"] = "1";
  Running running(Invocation({"--", "sh", "-c", "trap '' TERM; echo ready; sleep 60"}, env), true);
  REQUIRE(running.wait_for_output("ready\n"));
  const auto signalled = std::chrono::steady_clock::now();
  running.signal(SIGTERM);
  const auto outcome = running.wait(30s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  CHECK(outcome.exit_code == 137);
  CHECK(took >= 900ms);
  CHECK(took < 10s);
  CHECK(outcome.err.find("sending SIGKILL") != std::string::npos);
}

TEST_CASE("Supervised, argv, the standard streams and the environment pass through intact") {
  std::map<std::string, std::string> env = k_no_migration;
  env["GREETING"] = "hello there";
  const auto outcome =
      test::run_as_pid1(Invocation({"--", "sh", "-c", "printf '[%s]' \"$@\"; echo \" $GREETING $$\"; cat; echo oops >&2",
                                    "sh", "a b", "", "'q' \"d\""},
                                   env, "from stdin\n"));
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out == "[a b][]['q' \"d\"] hello there 2\nfrom stdin\n");
  // migrate-init's own stderr is its one summary line; the rest is the service's.
  CHECK(outcome.err.find("migrate-init info: summary: skipped: AUTO_MIGRATE=false; starting the service\noops\n") !=
        std::string::npos);
  CHECK(test::count(outcome.err, "\n") == 2);
}

TEST_CASE("--mode=exec replaces migrate-init even as PID 1") {
  const auto outcome = test::run_as_pid1(Invocation({"--mode=exec", "--", "sh", "-c", "echo $$"}, k_no_migration));
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out == "1\n");
}

TEST_CASE("SIGTERM during a slow migration cancels it, rolls back, releases the lock and exits 143") {
  auto& server = test::shared_server();
  const std::string db = server.create_database();
  test::TempDir dir;
  dir.write("001_sleep_config.sql", "CREATE TABLE sleep_config (seconds int); INSERT INTO sleep_config VALUES (30);");
  dir.write("002_slow.sql", "CREATE TABLE slow_done (id int);\nSELECT pg_sleep((SELECT seconds FROM sleep_config));\n");
  const std::map<std::string, std::string> env{{"DATABASE_URL", server.url(db)},
                                               {"AUTO_MIGRATE_DIR", dir.path().string()},
                                               {"AUTO_MIGRATE_LOCK_KEY", "5150"}};
  const std::string sleeping =
      "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep((SELECT%' AND state = 'active' "
      "AND pid <> pg_backend_pid()";

  for (const auto& how : k_supervisions) {
    CAPTURE(how.name);
    Running running(Invocation(args(how, {"sh", "-c", "trap 'echo got-HUP' HUP; echo service-ran"}), env), how.as_pid1);
    REQUIRE(running.wait_for_log("applying 002_slow.sql"));
    for (int i = 0; i < 500 && server.scalar(db, sleeping) == "0"; ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(server.scalar(db, sleeping) == "1");
    running.signal(SIGHUP); // not a stop signal: dropped, never delivered to the service later
    REQUIRE(running.wait_for_log("ignoring SIGHUP received while"));
    const auto signalled = std::chrono::steady_clock::now();
    running.signal(SIGTERM);
    const auto outcome = running.wait(30s);
    CHECK(std::chrono::steady_clock::now() - signalled < 5s);
    CHECK(outcome.exit_code == 143);
    CHECK(outcome.out.empty());
    CHECK(outcome.err.find("interrupted by SIGTERM while applying 002_slow.sql") != std::string::npos);
    CHECK(server.scalar(db, sleeping) == "0");
    CHECK(server.scalar(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == "0");
    CHECK(server.scalar(db, "SELECT string_agg(version, ',') FROM schema_migrations") == "001");
    CHECK(server.scalar(db, "SELECT to_regclass('slow_done') IS NULL") == "t");
  }

  server.query(db, "UPDATE sleep_config SET seconds = 0");
  const auto next = test::run({{"--", "echo", "service-ran"}, env});
  CHECK(next.exit_code == 0);
  CHECK(next.out == "service-ran\n");
  CHECK(server.scalar(db, "SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations") == "001,002");
}

TEST_CASE("SIGTERM while waiting for the lock or for the database ends promptly with 143") {
  auto& server = test::shared_server();
  const std::string db = server.create_database();
  test::Session holder(server, db, "holder");
  holder.exec("SELECT pg_advisory_lock(6060)");

  SUBCASE("waiting for the lock") {
    const std::map<std::string, std::string> env{{"DATABASE_URL", server.url(db)},
                                                 {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                                 {"AUTO_MIGRATE_LOCK_KEY", "6060"}};
    Running running(Invocation({"--", "echo", "service-ran"}, env), true);
    REQUIRE(running.wait_for_log("waiting for the migration lock"));
    const auto signalled = std::chrono::steady_clock::now();
    running.signal(SIGTERM);
    const auto outcome = running.wait(30s);
    CHECK(std::chrono::steady_clock::now() - signalled < 3s);
    CHECK(outcome.exit_code == 143);
    CHECK(outcome.out.empty());
    CHECK(outcome.err.find("interrupted by SIGTERM while waiting for the migration lock") != std::string::npos);
  }
  SUBCASE("waiting for the database") {
    const std::map<std::string, std::string> env{
        {"DATABASE_URL", "postgresql://u:p@127.0.0.1:" + std::to_string(test::free_port()) + "/db"},
        {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
        {"AUTO_MIGRATE_WAIT", "60"}};
    Running running(Invocation({"--", "echo", "service-ran"}, env), true);
    REQUIRE(running.wait_for_log("waiting for the database"));
    const auto signalled = std::chrono::steady_clock::now();
    running.signal(SIGINT);
    const auto outcome = running.wait(30s);
    CHECK(std::chrono::steady_clock::now() - signalled < 3s);
    CHECK(outcome.exit_code == 130);
    CHECK(outcome.out.empty());
    CHECK(outcome.err.find("interrupted by SIGINT while waiting for the database") != std::string::npos);
  }
}

TEST_CASE("A statement that ignores the cancel request still ends in 143 once the grace period is over") {
  auto& server = test::shared_server();
  const std::string db = server.create_database();
  test::TempDir dir;
  dir.write("001_stubborn.sql", "-- migrate-init: no-transaction\n"
                                "DO $$ BEGIN PERFORM pg_sleep(20); EXCEPTION WHEN query_canceled THEN PERFORM pg_sleep(20); "
                                "END $$;\n");
  Running running(Invocation({"--", "echo", "service-ran"},
                             {{"DATABASE_URL", server.url(db)}, {"AUTO_MIGRATE_DIR", dir.path().string()}}),
                  true);
  REQUIRE(running.wait_for_log("applying 001_stubborn.sql"));
  std::this_thread::sleep_for(300ms);
  running.signal(SIGTERM);
  const auto outcome = running.wait(30s);
  CHECK(outcome.exit_code == 143);
  CHECK(outcome.out.empty());
  CHECK(outcome.err.find("interrupted by SIGTERM") != std::string::npos);
  CHECK(outcome.err.find("starting the service anyway") == std::string::npos);
}

TEST_CASE("The supervised service cannot read the DDL credentials from its parent either") {
  auto& server = test::shared_server();
  const std::string db = server.create_database();
  const auto outcome = test::run_as_pid1(Invocation(
      {"--", "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ | grep -c hunter2 || true; env | grep -c hunter2 || true"},
      {{"AUTO_MIGRATE_DATABASE_URL", server.url(db)}, {"AUTO_MIGRATE_DIR", test::example_migrations().string()}}));
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out == "0\n0\n");
  CHECK(server.scalar(db, "SELECT count(*) FROM schema_migrations") == "5");
}
