// The built binary against a real PostgreSQL: what a security probe and a README audit
// found (issue 14), each class with a regression test.
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"
#include "pgbouncer.hpp"
#include "../support/process_state.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <fstream>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using test::Invocation;
using test::env_for;
using test::ledger_versions;
using test::shared_server;

namespace {

bool advisory_lock_held(const std::string& database) {
  return shared_server().scalar(database, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") != "0";
}

// User plus system CPU time of a process, in clock ticks.
long cpu_ticks(pid_t pid) {
  const std::string contents = test_support::proc_stat(pid);
  if (contents.empty()) return 0;
  std::istringstream fields(contents.substr(contents.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stol(field);
    if (index == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

} // namespace

TEST_CASE("A log reader that went away never stops migrating, stopping or releasing the lock") {
  const std::string db = shared_server().create_database();
  auto env = env_for(db, test::example_migrations());
  env["AUTO_MIGRATE_LOCK_KEY"] = "1414";
  env["AUTO_MIGRATE_LOG_LEVEL"] = "debug"; // as many lines as possible, each one a failed write

  SUBCASE("the migrations are applied and the lock released, with every log line dropped") {
    Invocation invocation({"migrate"}, env);
    invocation.closed_output = true;
    const auto result = test::run(invocation, 60s);
    CHECK(result.exit_code == 0);
    CHECK(ledger_versions(db) == "001,002,003,004,005");
    CHECK_FALSE(advisory_lock_held(db));
  }

  SUBCASE("waiting for the lock costs no CPU, and SIGTERM still ends the wait") {
    test::Session holder(shared_server(), db, "lock-holder");
    holder.exec("SELECT pg_advisory_lock(1414)");
    Invocation invocation({"--", "true"}, env);
    invocation.closed_output = true;
    test::Running running(invocation);
    std::this_thread::sleep_for(1500ms); // connected, logged, and waiting for the lock
    const long before = cpu_ticks(running.pid());
    std::this_thread::sleep_for(1000ms);
    const long spent = cpu_ticks(running.pid()) - before;
    CHECK(spent < sysconf(_SC_CLK_TCK) / 4); // a spin on SIGPIPE burns the whole second
    running.signal(SIGTERM);
    const auto result = running.wait_for_exit(10s);
    REQUIRE(result.has_value());
    CHECK(result->exit_code == 143);
    CHECK(shared_server().scalar(db, "SELECT to_regclass('schema_migrations') IS NULL") == "t"); // nothing applied
  }
}

TEST_CASE("SIGPIPE from another process still reaches the service when supervising") {
  const std::string db = shared_server().create_database();
  auto env = env_for(db, test::example_migrations());
  env["AUTO_MIGRATE_MODE"] = "supervise";
  test::Running running({{"--", "sh", "-c", "trap 'echo got-pipe; exit 7' PIPE; echo ready; while :; do sleep 0.05; done"},
                         env});
  REQUIRE(running.wait_for_output("ready"));
  running.signal(SIGPIPE);
  const auto result = running.wait(20s);
  CHECK(result.exit_code == 7);
  CHECK(result.out.find("got-pipe") != std::string::npos);
}

TEST_CASE("No tenant schema name or search_path reaches SQL unescaped, whatever standard_conforming_strings says") {
  // Quotes, backslashes before quotes, a comma, a semicolon: each tried as a way out of
  // the identifier or the literal that carries it.
  const std::vector<std::string> hostile{
      "a\\\",b\\', false); DROP TABLE public.victim; --", // the probe's name
      "x\\'); DROP TABLE public.victim; --",
      "q\"\"; DROP TABLE public.victim; --",
      "back\\\\slash\\",
      "comma,and space",
  };
  for (const char* conforming : {"off", "on"}) {
    CAPTURE(conforming);
    const std::string db = shared_server().create_database();
    shared_server().query(db, "CREATE TABLE public.victim (id int)");
    shared_server().query(db, std::string("ALTER DATABASE ") + db + " SET standard_conforming_strings = " + conforming);
    shared_server().query(db, std::string("ALTER DATABASE ") + db + " SET escape_string_warning = off");
    std::string query = "SELECT name FROM (VALUES ";
    for (std::size_t i = 0; i < hostile.size(); ++i) {
      query += std::string(i ? ", " : "") + "($q$" + hostile[i] + "$q$)";
    }
    query += ") AS t(name)";
    test::TempDir dir;
    dir.write("001_t.sql", "CREATE TABLE t (id int);");
    dir.write("002_u.sql", "CREATE TABLE u (id int);");
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", shared_server().url(db)},
                                    {"AUTO_MIGRATE_DIR", dir.path().string()},
                                    {"AUTO_MIGRATE_SCHEMAS_QUERY", query}}});
    CHECK(result.exit_code == 0);
    CHECK(shared_server().scalar(db, "SELECT to_regclass('public.victim') IS NOT NULL") == "t");
    for (const auto& name : hostile) {
      CAPTURE(name);
      CHECK(shared_server().scalar(db, "SELECT count(*) FROM pg_tables WHERE schemaname = $q$" + name +
                                           "$q$ AND tablename IN ('t', 'u', 'schema_migrations')") == "3");
    }
  }
}

TEST_CASE("A hostile search_path set on the role is restored as a value, never run as SQL") {
  const std::string db = shared_server().create_database();
  shared_server().query(db, "CREATE TABLE public.victim (id int)");
  shared_server().query(db, "CREATE SCHEMA \"s\\', false); DROP TABLE public.victim; --\"");
  shared_server().query(db, "CREATE ROLE hostile_path LOGIN SUPERUSER PASSWORD 'pw-hostile-path'");
  shared_server().query(db, "ALTER ROLE hostile_path IN DATABASE " + db +
                                " SET search_path = \"s\\', false); DROP TABLE public.victim; --\", public");
  shared_server().query(db, "ALTER DATABASE " + db + " SET standard_conforming_strings = off");
  shared_server().query(db, "ALTER DATABASE " + db + " SET escape_string_warning = off");
  test::TempDir dir;
  dir.write("001_t.sql", "CREATE TABLE t (id int);");
  dir.write("002_u.sql", "CREATE TABLE u (id int);");
  const auto result = test::run({{"migrate"},
                                 {{"DATABASE_URL", "postgresql://hostile_path:pw-hostile-path@127.0.0.1:" +
                                                       std::to_string(shared_server().port()) + "/" + db},
                                  {"AUTO_MIGRATE_DIR", dir.path().string()}}});
  CHECK(result.exit_code == 0);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('public.victim') IS NOT NULL") == "t");
  shared_server().query(db, "DROP OWNED BY hostile_path; DROP ROLE hostile_path");
}

TEST_CASE("Ledger rows are written as migrate-init's own role, whatever role a file left the session in") {
  const std::string db = shared_server().create_database();
  const std::string suffix = db; // role names are cluster-wide
  const std::string ddl = "ddl_" + suffix, other = "other_" + suffix;
  shared_server().query(db, "CREATE ROLE " + other + " NOLOGIN; CREATE ROLE " + ddl + " LOGIN PASSWORD 'ddl-pw-1234' IN ROLE " +
                                other + "; GRANT CREATE ON DATABASE " + db + " TO " + ddl + ";");
  shared_server().query(db, "GRANT CREATE ON SCHEMA public TO " + other + ", " + ddl);
  const std::string owner_sql = "SELECT tableowner FROM pg_tables WHERE tablename = ";
  test::TempDir dir;
  // Transactional, ending in SET ROLE; no-transaction with SET ROLE part-way (its later
  // statements must still run as that role); a role changed through set_config; a plain
  // file after them all (back to the own role).
  dir.write("001_ends_in_set_role.sql", "CREATE TABLE by_ddl (id int);\nSET ROLE " + other + ";\n");
  dir.write("002_no_tx.sql", "-- migrate-init: no-transaction\nCREATE TABLE plain (id int);\nSET ROLE " + other +
                                 ";\nCREATE TABLE by_other (id int);\nCREATE INDEX CONCURRENTLY by_other_idx ON by_other (id);\n");
  dir.write("003_set_config.sql", "SELECT set_config('role', '" + other + "', false);\nCREATE TABLE v (id int);\n");
  dir.write("004_read_only_after.sql", "-- migrate-init: no-transaction\nSET default_transaction_read_only = on;\n"
                                       "SELECT 1;\n");
  dir.write("005_plain.sql", "CREATE TABLE w (id int);\n");
  const auto result = test::run({{"migrate"},
                                 {{"DATABASE_URL", "postgresql://" + ddl + ":ddl-pw-1234@127.0.0.1:" +
                                                       std::to_string(shared_server().port()) + "/" + db},
                                  {"AUTO_MIGRATE_DIR", dir.path().string()}}});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(ledger_versions(db) == "001,002,003,004,005");
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations WHERE state = 'applied'") == "5");
  CHECK(shared_server().scalar(db, owner_sql + "'schema_migrations'") == ddl);
  CHECK(shared_server().scalar(db, owner_sql + "'by_ddl'") == ddl);
  CHECK(shared_server().scalar(db, owner_sql + "'plain'") == ddl);
  CHECK(shared_server().scalar(db, owner_sql + "'by_other'") == other); // the file's own SET ROLE held
  CHECK(shared_server().scalar(db, owner_sql + "'v'") == other);
  CHECK(shared_server().scalar(db, owner_sql + "'w'") == ddl);
  CHECK(result.err.find("permission denied") == std::string::npos);
  shared_server().query(db, "DROP OWNED BY " + ddl + ", " + other + "; DROP ROLE " + ddl + "; DROP ROLE " + other);
}

TEST_CASE("A superuser's file that ends in SET SESSION AUTHORIZATION still gets its ledger row") {
  const std::string db = shared_server().create_database();
  const std::string other = "sa_other_" + db;
  shared_server().query(db, "CREATE ROLE " + other + " NOLOGIN; GRANT CREATE ON SCHEMA public TO " + other);
  test::TempDir dir;
  dir.write("001_sa.sql", "CREATE TABLE before_sa (id int);\nSET SESSION AUTHORIZATION " + other + ";\n");
  dir.write("002_after.sql", "CREATE TABLE after_sa (id int);\n");
  const auto result = test::run({{"migrate"}, env_for(db, dir.path())});
  CHECK(result.exit_code == 0);
  CHECK(ledger_versions(db) == "001,002");
  CHECK(shared_server().scalar(db, "SELECT tableowner FROM pg_tables WHERE tablename = 'after_sa'") == "postgres");
  shared_server().query(db, "DROP OWNED BY " + other + "; DROP ROLE " + other);
}

namespace {

// The soft core size limit a process runs with, from /proc/<pid>/limits.
std::string soft_core_limit(pid_t pid) {
  std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(limits, line);) {
    if (line.rfind("Max core file size", 0) == 0) {
      std::istringstream fields(line.substr(std::strlen("Max core file size")));
      std::string soft;
      fields >> soft;
      return soft;
    }
  }
  return "?";
}

// Who owns /proc/<pid>/environ: the process's own user while it is dumpable, root once
// it is not (and then nobody else can read it).
uid_t environ_owner(pid_t pid) {
  struct stat info {};
  REQUIRE(::stat(("/proc/" + std::to_string(pid) + "/environ").c_str(), &info) == 0);
  return info.st_uid;
}

constexpr uid_t k_nobody = 65534;

// The binary and the example migrations copied where user nobody can reach them: a clone
// in a `mktemp -d` directory (mode 700) is root's alone.
struct CopyForNobody {
  CopyForNobody() {
    namespace fs = std::filesystem;
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
    fs::copy_file(test::binary_path(), binary);
    fs::copy(test::example_migrations(), migrations, fs::copy_options::recursive);
    for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
      fs::permissions(entry.path(), fs::perms::others_read | fs::perms::group_read, fs::perm_options::add);
      if (entry.is_directory()) {
        fs::permissions(entry.path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
      }
    }
  }
  test::TempDir dir;
  std::filesystem::path binary = dir.path() / "migrate-init";
  std::filesystem::path migrations = dir.path() / "migrations";
};

} // namespace

TEST_CASE("Every subcommand is non-dumpable with a core limit of 0 from the start; the service gets its limit back") {
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  REQUIRE(setrlimit(RLIMIT_CORE, &unlimited) == 0); // inherited: `ulimit -c unlimited`
  const std::vector<std::string> as_nobody{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  const CopyForNobody copy;

  SUBCASE("while waiting for a database that is not up, in each subcommand") {
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"migrate"}, {"status"}, {"plan"}, {"verify"}, {"--", "true"}}) {
      CAPTURE(args.front());
      Invocation invocation(args, {{"DATABASE_URL", "postgresql://u:core-secret-pw@127.0.0.1:" +
                                                        std::to_string(test::free_port()) + "/db"},
                                   {"AUTO_MIGRATE_DIR", copy.migrations.string()},
                                   {"AUTO_MIGRATE_WAIT", "20"}});
      invocation.wrapper = as_nobody;
      invocation.binary = copy.binary;
      test::Running running(invocation);
      REQUIRE(running.wait_for_log("waiting for the database", 10s));
      CHECK(soft_core_limit(running.pid()) == "0");
      CHECK(environ_owner(running.pid()) == 0);
      running.signal(SIGTERM);
      const auto result = running.wait_for_exit(10s);
      REQUIRE(result.has_value());
      CHECK(result->exit_code == 143);
    }
  }

  SUBCASE("during the lock wait, then the service runs with the limit it was started with") {
    const std::string db = shared_server().create_database();
    test::Session holder(shared_server(), db, "lock-holder");
    holder.exec("SELECT pg_advisory_lock(1515)");
    auto env = env_for(db, copy.migrations);
    env["AUTO_MIGRATE_LOCK_KEY"] = "1515";
    Invocation invocation({"--", "sh", "-c", "ulimit -c; id -u"}, env);
    invocation.wrapper = as_nobody;
    invocation.binary = copy.binary;
    test::Running running(invocation);
    REQUIRE(running.wait_for_log("waiting for the migration lock", 20s));
    CHECK(soft_core_limit(running.pid()) == "0");
    CHECK(environ_owner(running.pid()) == 0); // not k_nobody: other users cannot read it
    holder.exec("SELECT pg_advisory_unlock(1515)");
    const auto result = running.wait(30s);
    CHECK(result.exit_code == 0);
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer sets the core limit to 0 itself at start-up (disable_coredump), so the
    // limit migrate-init was started with is 0 there.
    CHECK(result.out == "0\n" + std::to_string(k_nobody) + "\n");
#else
    CHECK(result.out == "unlimited\n" + std::to_string(k_nobody) + "\n");
#endif
  }
}

TEST_CASE("Every copy of a migration-only variable set twice is wiped from the environment block") {
  const std::string db = shared_server().create_database();
  const std::string first = shared_server().url(db);
  const std::string second = "postgresql://postgres:second-copy-secret@127.0.0.1:1/other";
  Invocation invocation({"--", "sh", "-c", "env | grep -c AUTO_MIGRATE_DATABASE_URL; echo ready; sleep 30"},
                        {{"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                         {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}});
  invocation.raw_env = {"AUTO_MIGRATE_DATABASE_URL=" + first, "AUTO_MIGRATE_DATABASE_URL=" + second};
  test::Running running(invocation, /*as_pid1=*/true);
  REQUIRE(running.wait_for_output("ready", 30s));
  CHECK(running.output() == "0\nready\n"); // the service has neither copy
  std::ifstream environ_file("/proc/" + std::to_string(running.pid()) + "/environ", std::ios::binary);
  const std::string block((std::istreambuf_iterator<char>(environ_file)), std::istreambuf_iterator<char>());
  CHECK(block.find("AUTO_MIGRATE_DIR=") != std::string::npos); // the block was read
  CHECK(block.find(test::PgServer::k_password) == std::string::npos);
  CHECK(block.find("second-copy-secret") == std::string::npos);
  CHECK(block.find("postgresql://") == std::string::npos);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations") == "5");
}

TEST_CASE("An error without a server position names the line of the statement that failed") {
  struct Case {
    std::string file;
    std::string sql;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {"001_duplicate.sql",
            "CREATE TABLE t (id int PRIMARY KEY);\n-- seed it\nINSERT INTO t VALUES (1);\nINSERT INTO t\n  VALUES (1);\n",
            "001_duplicate.sql:4: ERROR: duplicate key value violates unique constraint \"t_pkey\""},
           {"001_exists.sql", "CREATE TABLE t (id int);\nSELECT 'a;b';\n\nCREATE TABLE t (id int);\n",
            "001_exists.sql:4: ERROR: relation \"t\" already exists"},
           {"001_check.sql",
            "-- migrate:up\nCREATE TABLE c (n int CHECK (n > 0));\nDO $$ BEGIN PERFORM 1; END $$;\nINSERT INTO c VALUES (-1);\n",
            "001_check.sql:4: ERROR: new row for relation \"c\" violates check constraint \"c_n_check\""},
       }) {
    CAPTURE(c.file);
    const std::string db = shared_server().create_database();
    test::TempDir dir;
    dir.write(c.file, c.sql);
    const auto result = test::run({{"migrate"}, env_for(db, dir.path())});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find(c.expected) != std::string::npos);
  }
}

namespace {

// The fields of the last migrate.done event of a JSON log, as "key=value" text.
std::string done_event(const std::string& log) {
  const auto at = log.rfind("{\"time\"");
  return at == std::string::npos ? "" : log.substr(at);
}

} // namespace

TEST_CASE("Tenant summaries count every tenant's ledger, in the text and in JSON") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  dir.write("001_a.sql", "CREATE TABLE a (id int);");
  dir.write("002_b.sql", "CREATE TABLE b (id int);");
  auto env = env_for(db, dir.path());
  env["AUTO_MIGRATE_SCHEMAS"] = "t1,t2,t3";
  const auto first = test::run({{"migrate"}, env});
  CHECK(first.exit_code == 0);
  CHECK(first.err.find("summary: applied 6 of 6 migrations (3 tenant schemas of 2 files each; 0 already applied)") !=
        std::string::npos);
  env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
  const auto second = test::run({{"migrate"}, env});
  CHECK(second.exit_code == 0);
  const std::string done = done_event(second.err);
  CHECK(done.find("\"applied\":0,\"skipped\":6,\"total\":6,\"tenants\":3") != std::string::npos);
  SUBCASE("a failure still reports what was done and how much there was") {
    dir.write("003_c.sql", "CREATE TABLE c (id int);");
    dir.write("004_broken.sql", "SELECT * FROM no_such_table;");
    env.erase("AUTO_MIGRATE_SCHEMAS");
    const auto failed = test::run({{"migrate"}, env});
    CHECK(failed.exit_code == 1);
    CHECK(done_event(failed.err).find("\"applied\":3,\"skipped\":0,\"total\":4,\"tenants\":0") != std::string::npos);
  }
}

TEST_CASE("plan shows the files AUTO_MIGRATE_BASELINE would record without running them") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  dir.write("001_a.sql", "CREATE TABLE a (id int);");
  dir.write("002_b.sql", "CREATE TABLE b (id int);");
  dir.write("003_c.sql", "CREATE TABLE c (id int);");
  auto env = env_for(db, dir.path());
  env["AUTO_MIGRATE_BASELINE"] = "002";
  const auto plan = test::run({{"plan"}, env});
  CHECK(plan.exit_code == 0);
  CHECK(plan.out.find("001_a.sql") != std::string::npos);
  CHECK(test::count(plan.out, "baseline (recorded as applied, not run: AUTO_MIGRATE_BASELINE)") == 2);
  CHECK(plan.out.find("003_c.sql  ") != std::string::npos);
  CHECK(test::count(plan.out, "  transaction (in one transaction with its ledger row)\n") == 1);
  const auto json = test::run({{"plan", "--json"}, env});
  CHECK(test::count(json.out, "\"mode\":\"baseline\"") == 2);
  // And migrate does what plan said.
  REQUIRE(test::run({{"migrate"}, env}).exit_code == 0);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('a') IS NULL AND to_regclass('b') IS NULL AND "
                                   "to_regclass('c') IS NOT NULL") == "t");
}

TEST_CASE("Tenants: the no-ledger warning counts the tenant's own tables; an empty tenant list is said") {
  const std::string db = shared_server().create_database();
  shared_server().query(db, "CREATE TABLE public.unrelated (id int); CREATE SCHEMA t_busy; CREATE TABLE t_busy.x (id int);"
                            "CREATE SCHEMA t_empty");
  test::TempDir dir;
  dir.write("001_a.sql", "CREATE TABLE a (id int);");
  auto env = env_for(db, dir.path());
  env["AUTO_MIGRATE_SCHEMAS"] = "t_empty,t_busy";
  const auto result = test::run({{"migrate"}, env});
  CHECK(result.exit_code == 0);
  CHECK(test::count(result.err, "but no ledger") == 1);
  CHECK(result.err.find("tenant schema t_busy has 1 table but no ledger") != std::string::npos);

  env.erase("AUTO_MIGRATE_SCHEMAS");
  env["AUTO_MIGRATE_SCHEMAS_QUERY"] = "SELECT nspname FROM pg_namespace WHERE false";
  const auto empty = test::run({{"migrate"}, env});
  CHECK(empty.exit_code == 0);
  CHECK(empty.err.find("warning: AUTO_MIGRATE_SCHEMAS_QUERY returned no schemas: no tenant was migrated") !=
        std::string::npos);
  env["AUTO_MIGRATE_FAIL_ON_ERROR"] = "true";
  const auto strict = test::run({{"--", "echo", "service-ran"}, env});
  CHECK(strict.exit_code == 1);
  CHECK(strict.out.empty());
  CHECK(strict.err.find("error: AUTO_MIGRATE_SCHEMAS_QUERY returned no schemas") != std::string::npos);
}

TEST_CASE("Smaller wording: hidden lock holders, signals while applying, --json where it means nothing, plurals") {
  SUBCASE("a holder another role owns is said to be hidden, not a local socket connected ' s ago'") {
    const std::string db = shared_server().create_database();
    const std::string role = "waiter_" + db;
    shared_server().query(db, "CREATE ROLE " + role + " LOGIN PASSWORD 'waiter-pw-1234'; GRANT CREATE ON DATABASE " + db +
                                  " TO " + role + "; GRANT CREATE ON SCHEMA public TO " + role);
    test::Session holder(shared_server(), db, "lock-holder");
    holder.exec("SELECT pg_advisory_lock(1717)");
    auto env = env_for(db, test::example_migrations());
    env["DATABASE_URL"] = "postgresql://" + role + ":waiter-pw-1234@127.0.0.1:" + std::to_string(shared_server().port()) +
                          "/" + db;
    env["AUTO_MIGRATE_LOCK_KEY"] = "1717";
    env["AUTO_MIGRATE_LOCK_TIMEOUT"] = "1";
    const auto result = test::run({{"migrate"}, env});
    CHECK(result.exit_code == 3);
    CHECK(result.err.find("another role's session: its details need pg_read_all_stats") != std::string::npos);
    CHECK(result.err.find("local socket") == std::string::npos);
    CHECK(result.err.find("connected  s ago") == std::string::npos);
    shared_server().query(db, "DROP OWNED BY " + role + "; DROP ROLE " + role);
  }
  SUBCASE("SIGHUP during a migration names the file being applied") {
    const std::string db = shared_server().create_database();
    test::TempDir dir;
    dir.write("001_slow.sql", "SELECT pg_sleep(2);\nCREATE TABLE slow (id int);\n");
    test::Running running({{"migrate"}, env_for(db, dir.path())});
    REQUIRE(running.wait_for_log("applying 001_slow.sql", 20s));
    std::this_thread::sleep_for(300ms);
    running.signal(SIGHUP);
    const auto result = running.wait(30s);
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("ignoring SIGHUP received while applying 001_slow.sql") != std::string::npos);
  }
  SUBCASE("--json is refused where no report is printed") {
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"migrate", "--json"}, {"--json", "--", "true"}, {"rollback", "--json"}}) {
      const auto result = test::run({args, {{"AUTO_MIGRATE_DIR", test::example_migrations().string()}}});
      CHECK(result.exit_code == 2);
      CHECK(result.err.find("--json belongs to status, plan, verify and check") != std::string::npos);
    }
  }
  SUBCASE("one pending migration is one migration") {
    const std::string db = shared_server().create_database();
    test::TempDir dir;
    dir.write("001_a.sql", "CREATE TABLE a (id int);");
    const auto result = test::run({{"migrate"}, env_for(db, dir.path())});
    CHECK(result.err.find(": 1 migration in ") != std::string::npos);
    CHECK(result.err.find("info: 1 migration pending\n") != std::string::npos);
    CHECK(result.err.find("applied 1 migration in") != std::string::npos);
    CHECK(result.err.find("migrations (0 already") == std::string::npos);
    CHECK(result.err.find("applied 1 of 1 migration (0 already applied)") != std::string::npos);
  }
}

TEST_CASE("Every JSON event carries exactly the fields the event table of docs/reference.md lists") {
  std::string logs;
  SUBCASE("") {} // one pass
  {
    // db.waiting and db.up: a server that comes up after migrate-init started waiting.
    test::PgServer late;
    test::TempDir dir;
    dir.write("001_a.sql", "CREATE TABLE a (id int);");
    test::Running running({{"migrate"},
                           {{"DATABASE_URL", late.url()},
                            {"AUTO_MIGRATE_DIR", dir.path().string()},
                            {"AUTO_MIGRATE_LOG_FORMAT", "json"},
                            {"AUTO_MIGRATE_WAIT", "30"}}});
    REQUIRE(running.wait_for_log("db.waiting", 10s));
    late.start();
    const auto result = running.wait(40s);
    CHECK(result.exit_code == 0);
    logs += result.err;
  }
  {
    // lock.waiting, db.notice and the migration events.
    const std::string db = shared_server().create_database();
    test::TempDir dir;
    dir.write("001_a.sql", "DO $$ BEGIN RAISE NOTICE 'hello from the file'; END $$;\nCREATE TABLE a (id int);");
    dir.write("002_b.sql", "-- migrate-init: no-transaction\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);");
    auto env = env_for(db, dir.path());
    env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    test::Session holder(shared_server(), db, "lock-holder");
    holder.exec("SELECT pg_advisory_lock(1818)");
    env["AUTO_MIGRATE_LOCK_KEY"] = "1818";
    test::Running running({{"migrate"}, env});
    REQUIRE(running.wait_for_log("lock.waiting", 20s));
    holder.exec("SELECT pg_advisory_unlock(1818)");
    const auto result = running.wait(40s);
    CHECK(result.exit_code == 0);
    logs += result.err;
    // tenant.failed and tenants.done.
    env.erase("AUTO_MIGRATE_LOCK_KEY");
    env["AUTO_MIGRATE_SCHEMAS"] = "t1";
    dir.write("003_broken.sql", "SELECT * FROM no_such_table;");
    const auto tenants = test::run({{"migrate"}, env});
    CHECK(tenants.exit_code == 1);
    logs += tenants.err;
  }
  {
    // migrator.start, migrator.output and migrator.done: the same pipeline in command mode.
    const std::string db = shared_server().create_database();
    test::TempDir dir;
    dir.write("knexfile.js", "the migrator's own file");
    auto env = env_for(db, dir.path());
    env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    env["AUTO_MIGRATE_COMMAND"] = "echo migrating";
    const auto result = test::run({{"migrate"}, env});
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("\"event\":\"migrator.output\"") != std::string::npos);
    logs += result.err;
  }
  {
    // alembic.ahead: an older image's Alembic project on the database a newer image upgraded
    // (its "migrator" a psycopg2 one-liner that leaves alembic_version at b2) and recorded.
    const std::string db = shared_server().create_database();
    test::TempDir newer, older;
    for (const auto* project : {&newer, &older}) {
      std::filesystem::create_directories(project->path() / "versions");
      project->write("env.py", "# Alembic's; never run here\n");
      project->write("versions/a1_first.py", "revision = 'a1'\ndown_revision = None\n");
    }
    newer.write("versions/b2_second.py", "revision = 'b2'\ndown_revision = 'a1'\n");
    auto env = env_for(db, newer.path());
    env["AUTO_MIGRATE_COMMAND"] =
        R"x(["/usr/bin/python3", "-c", "import os, psycopg2; c = psycopg2.connect(os.environ['DATABASE_URL']); )x"
        R"x(c.autocommit = True; c.cursor().execute('CREATE TABLE alembic_version (version_num varchar(32) )x"
        R"x(PRIMARY KEY); INSERT INTO alembic_version VALUES (%s)', ('b2',))"])x";
    REQUIRE(test::run({{"migrate"}, env}).exit_code == 0);
    env["AUTO_MIGRATE_DIR"] = older.path().string();
    env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    const auto result = test::run({{"migrate"}, env});
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("\"event\":\"alembic.ahead\"") != std::string::npos);
    logs += result.err;
  }
  {
    // A failed migration without AUTO_MIGRATE_FAIL_ON_ERROR: the service starts, loudly.
    const std::string db = shared_server().create_database();
    test::TempDir dir;
    dir.write("001_bad.sql", "ALTER TABLE no_such_table ADD COLUMN x int;");
    auto env = env_for(db, dir.path());
    env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    const auto result = test::run({{"--", "true"}, env});
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("\"event\":\"service.start_after_failure\"") != std::string::npos);
    logs += result.err;
  }
  {
    // A Django command without a manifest of its migrations: no fast path, and a warning.
    const std::string db = shared_server().create_database();
    auto env = env_for(db, test::example_migrations());
    env["AUTO_MIGRATE_COMMAND"] = ": python manage.py migrate";
    env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    const auto result = test::run({{"migrate"}, env});
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("\"event\":\"migrator.fast_path_off\"") != std::string::npos);
    logs += result.err;
  }
  {
    // Behind PgBouncer, which refuses the startup parameter options: the migrator connects
    // without the client check, and says so.
    const std::string db = shared_server().create_database();
    test::PgBouncer bouncer("session");
    test::TempDir dir;
    auto env = env_for(db, dir.path());
    env["DATABASE_URL"] = bouncer.url(db);
    env["AUTO_MIGRATE_COMMAND"] = "echo migrating";
    env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    const auto result = test::run({{"migrate"}, env});
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("\"event\":\"migrator.no_client_check\"") != std::string::npos);
    logs += result.err;
  }
  test::TempDir work;
  const auto log_file = work.write("log.jsonl", logs);
  const std::string readme = (test::example_migrations().parent_path() / "docs" / "reference.md").string();
  const std::string check =
      "import json, re, sys\n"
      "table, rows = False, {}\n"
      "for line in open(sys.argv[2]):\n"
      "    if line.startswith('| event | fields'): table = True; continue\n"
      "    if table and not line.startswith('|'): break\n"
      "    if table and line.startswith('| `'):\n"
      "        event, fields = [c.strip() for c in line.strip().strip('|').split('|')]\n"
      "        rows[event.strip('`')] = set(re.findall(r'`([a-z_]+)`', fields))\n"
      "assert len(rows) >= 10, rows\n"
      "seen = {}\n"
      "for line in open(sys.argv[1]):\n"
      "    e = json.loads(line)\n"
      "    keys = set(e) - {'time', 'level', 'event', 'message'}\n"
      "    assert e['event'] in rows, ('event missing from README', e)\n"
      "    assert keys == rows[e['event']], ('fields differ from README', e['event'], sorted(keys), sorted(rows[e['event']]))\n"
      "    seen[e['event']] = True\n"
      "missing = set(rows) - set(seen)\n"
      "assert not missing, ('README events never logged here', missing)\n";
  const auto script = work.write("check.py", check);
  CHECK(std::system(("python3 " + script.string() + " " + log_file.string() + " " + readme + " >&2").c_str()) == 0);
}

TEST_CASE("A password a failing statement quotes is masked in the ledger and in every report, not only in the log") {
  const std::string db = shared_server().create_database();
  const std::string password = test::PgServer::k_password;
  test::TempDir dir;
  // The error quotes the whole password; the DETAIL of the second quotes a piece of it.
  dir.write("001_quotes.sql", "-- migrate-init: no-transaction\nCREATE TABLE t (s text UNIQUE);\nSELECT '" + password +
                                  "'::int;\n");
  const auto result = test::run({{"migrate"}, env_for(db, dir.path())});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("invalid input syntax for type integer") != std::string::npos);
  const std::string stored = shared_server().scalar(db, "SELECT last_error FROM schema_migrations");
  CHECK(stored.find("invalid input syntax for type integer") != std::string::npos);
  const auto leaks = [&](const std::string& text) {
    for (std::size_t i = 0; i + 4 <= password.size(); ++i) {
      if (text.find(password.substr(i, 4)) != std::string::npos) return true;
    }
    return false;
  };
  CHECK_FALSE(leaks(stored));
  CHECK_FALSE(leaks(result.err));
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status", "--json"}, {"status"}, {"verify"}, {"verify", "--json"}, {"plan"}, {"plan", "--json"}}) {
    CAPTURE(args.front());
    const auto report = test::run({args, env_for(db, dir.path())});
    CHECK_FALSE(leaks(report.out));
    CHECK_FALSE(leaks(report.err));
  }
  SUBCASE("a row stored unmasked (by an older migrate-init) is masked on the way out") {
    shared_server().query(db, "UPDATE schema_migrations SET last_error = 'ERROR: bad \"" + password + "\"'");
    const auto report = test::run({{"status", "--json"}, env_for(db, dir.path())});
    CHECK(report.out.find("last_error") != std::string::npos);
    CHECK_FALSE(leaks(report.out));
    const auto verify = test::run({{"verify"}, env_for(db, dir.path())});
    CHECK_FALSE(leaks(verify.out));
  }
}
