// Fleets: tenants, boot contracts, separate DDL credentials, JSON logs, poolers, standbys.
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"
#include "pgbouncer.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

using namespace std::chrono_literals;
using test::Invocation;
using test::PgBouncer;
using test::contains;
using test::shared_server;

namespace {

std::map<std::string, std::string> env_for(const std::string& db, std::map<std::string, std::string> extra = {}) {
  extra.emplace("DATABASE_URL", shared_server().url(db));
  extra.emplace("AUTO_MIGRATE_DIR", test::example_migrations().string());
  return extra;
}

std::string ledger_count(const std::string& db, const std::string& table) {
  return shared_server().scalar(db, "SELECT count(*) FROM " + table);
}

} // namespace

TEST_CASE("Tenant schemas are migrated in turn, each with its own ledger; a failing tenant is named") {
  const std::string db = shared_server().create_database();
  // auth_broken already has a `runs` table, so its 001 fails.
  shared_server().query(db, "CREATE SCHEMA auth_broken; CREATE TABLE auth_broken.runs (id int);");
  auto env = env_for(db, {{"AUTO_MIGRATE_SCHEMAS", "auth_default, auth_acme,auth_broken"},
                          {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}});
  const auto result = test::run({{"--", "echo", "service-ran"}, env});
  CHECK(result.exit_code == 1);
  CHECK(result.out.empty());
  CHECK(contains(result.err, "tenant auth_broken: migration 001_initial_schema failed"));
  CHECK(contains(result.err, "tenants: 2 migrated, 0 skipped (up to date), 1 failed (auth_broken)"));
  CHECK(ledger_count(db, "auth_default.schema_migrations") == "5");
  CHECK(ledger_count(db, "auth_acme.schema_migrations") == "5");
  CHECK(ledger_count(db, "auth_broken.schema_migrations") == "0");
  CHECK(shared_server().scalar(db, "SELECT to_regclass('auth_acme.run_edges') IS NOT NULL") == "t");
  CHECK(shared_server().scalar(db, "SELECT to_regclass('public.schema_migrations') IS NULL") == "t");
  CHECK(shared_server().scalar(db, "SELECT to_regclass('public.runs') IS NULL") == "t");

  SUBCASE("a second run skips the tenants that are up to date, and a query can list them") {
    env.erase("AUTO_MIGRATE_SCHEMAS");
    env["AUTO_MIGRATE_SCHEMAS_QUERY"] = "SELECT nspname FROM pg_namespace WHERE nspname IN ('auth_default', 'auth_acme')";
    const auto again = test::run({{"--", "echo", "service-ran"}, env});
    CHECK(again.exit_code == 0);
    CHECK(again.out == "service-ran\n");
    CHECK(contains(again.err, "tenants: 0 migrated, 2 skipped (up to date), 0 failed"));
  }
}

TEST_CASE("status, plan and verify report every tenant's ledger, and verify fails if any tenant is behind") {
  const std::string db = shared_server().create_database();
  auto env = env_for(db, {{"AUTO_MIGRATE_SCHEMAS", "shop_eu,shop_us"}});
  CHECK(test::run({{"migrate"}, env}).exit_code == 0);
  // shop_new appears later, with nothing applied yet.
  shared_server().query(db, "CREATE SCHEMA shop_new");
  env["AUTO_MIGRATE_SCHEMAS"] = "shop_eu,shop_us,shop_new";

  const auto status = test::run({{"status"}, env});
  CHECK(status.exit_code == 0);
  CHECK(contains(status.out, "tenant shop_eu:\nVERSION"));
  CHECK(contains(status.out, "tenant shop_new:\nVERSION"));
  CHECK(test::count(status.out, "pending") == 5); // shop_new's five files only

  const auto plan = test::run({{"plan"}, env});
  CHECK(plan.exit_code == 0);
  CHECK(test::count(plan.out, "nothing to apply (5 migrations)") == 2);
  CHECK(contains(plan.out, "tenant shop_new:\n001_"));

  const auto verify = test::run({{"verify", "--json"}, env});
  CHECK(verify.exit_code == 5);
  CHECK(contains(verify.out, R"({"ok":false,"tenants":[{"schema":"shop_eu","ok":true,)"));
  CHECK(contains(verify.out, R"({"schema":"shop_new","ok":false,)"));
  CHECK(contains(verify.out, "is not applied"));

  SUBCASE("once every tenant is migrated, verify passes") {
    CHECK(test::run({{"migrate"}, env}).exit_code == 0);
    const auto again = test::run({{"verify"}, env});
    CHECK(again.exit_code == 0);
    CHECK(test::count(again.out, "ok: the database matches the 5 migration files") == 3);
  }
}

TEST_CASE("A hostile tenant name is only ever a quoted identifier") {
  const std::string db = shared_server().create_database();
  shared_server().query(db, "CREATE TABLE victim (id int)");
  const std::string hostile = "o'brien\"; DROP TABLE victim; --";
  test::TempDir dir;
  dir.write("001_t.sql", "CREATE TABLE t (id int);");
  const auto result = test::run({{"migrate"},
                                 {{"DATABASE_URL", shared_server().url(db)},
                                  {"AUTO_MIGRATE_DIR", dir.path().string()},
                                  {"AUTO_MIGRATE_SCHEMAS_QUERY", "SELECT $q$" + hostile + "$q$"}}});
  CHECK(result.exit_code == 0);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('victim') IS NOT NULL") == "t");
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM pg_tables WHERE schemaname = $q$" + hostile +
                                       "$q$ AND tablename IN ('t', 'schema_migrations')") == "2");
}

TEST_CASE("Required migrations that are missing refuse the start with exit 5, in both AUTO_MIGRATE modes") {
  const std::string db = shared_server().create_database();
  SUBCASE("AUTO_MIGRATE=false only verifies") {
    const auto result = test::run({{"--", "echo", "service-ran"},
                                   env_for(db, {{"AUTO_MIGRATE", "false"},
                                                {"AUTO_MIGRATE_REQUIRED", "001_initial_schema,002_add_scheduling_and_priority"}})});
    CHECK(result.exit_code == 5);
    CHECK(result.out.empty());
    CHECK(contains(result.err, "database migrations missing: 001_initial_schema, 002_add_scheduling_and_priority"));
    CHECK(shared_server().scalar(db, "SELECT to_regclass('schema_migrations') IS NULL") == "t");
  }
  SUBCASE("AUTO_MIGRATE=true, a failed migration and FAIL_ON_ERROR=false still refuse") {
    test::TempDir dir;
    dir.write("001_ok.sql", "CREATE TABLE ok (id int);");
    dir.write("002_bad.sql", "SELECT * FROM nope;");
    const auto result = test::run({{"--", "echo", "service-ran"},
                                   {{"DATABASE_URL", shared_server().url(db)},
                                    {"AUTO_MIGRATE_DIR", dir.path().string()},
                                    {"AUTO_MIGRATE_REQUIRED", "all"}}});
    CHECK(result.exit_code == 5);
    CHECK(result.out.empty());
    CHECK(contains(result.err, "database migrations missing: 002_bad"));
    CHECK(contains(result.err, "summary: refused: database migrations missing: 002_bad (exit 5); not starting the service"));

    const auto partial = test::run({{"--", "echo", "service-ran"},
                                    {{"DATABASE_URL", shared_server().url(db)},
                                     {"AUTO_MIGRATE_DIR", dir.path().string()},
                                     {"AUTO_MIGRATE", "false"},
                                     {"AUTO_MIGRATE_REQUIRED", "1"}}});
    CHECK(partial.exit_code == 0);
    CHECK(partial.out == "service-ran\n");
  }
}

TEST_CASE("Wait for schema: the service starts once another process has migrated, or exit 5 on timeout") {
  const std::string db = shared_server().create_database();
  SUBCASE("another process migrates") {
    test::Running waiter(Invocation({"--", "echo", "service-ran"},
                                    env_for(db, {{"AUTO_MIGRATE", "false"}, {"AUTO_MIGRATE_WAIT_FOR_SCHEMA", "60"}})));
    REQUIRE(waiter.wait_for_log("waiting for another instance to migrate"));
    std::this_thread::sleep_for(500ms);
    CHECK(waiter.output().empty());
    REQUIRE(test::run({{"migrate"}, env_for(db)}).exit_code == 0);
    const auto outcome = waiter.wait(30s);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.out == "service-ran\n");
    CHECK(contains(outcome.err, "the schema is complete (5 migrations applied)"));
  }
  SUBCASE("nobody migrates") {
    const auto outcome = test::run({{"--", "echo", "service-ran"},
                                    env_for(db, {{"AUTO_MIGRATE", "false"}, {"AUTO_MIGRATE_WAIT_FOR_SCHEMA", "1"}})});
    CHECK(outcome.exit_code == 5);
    CHECK(outcome.out.empty());
    CHECK(contains(outcome.err, "gave up waiting for the schema after 1 s"));
  }
}

TEST_CASE("AUTO_MIGRATE_DATABASE_URL migrates and never reaches the service; DATABASE_URL passes untouched") {
  const std::string db = shared_server().create_database();
  const std::string app_url = "postgresql://app:app-password@127.0.0.1:1/app";
  const std::string print_env = "env | grep -E '^(AUTO_MIGRATE_DATABASE_URL|DATABASE_URL)' | sort";
  SUBCASE("as a variable") {
    const auto result = test::run({{"--", "sh", "-c", print_env},
                                   {{"DATABASE_URL", app_url},
                                    {"AUTO_MIGRATE_DATABASE_URL", shared_server().url(db)},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                    {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}}});
    CHECK(result.exit_code == 0);
    CHECK(result.out == "DATABASE_URL=" + app_url + "\n");
    CHECK(ledger_count(db, "schema_migrations") == "5");
    CHECK_FALSE(contains(result.err, test::PgServer::k_password));
  }
  SUBCASE("from files, the _FILE variant for migrate-init removed too") {
    test::TempDir secrets;
    const auto ddl = secrets.write("ddl-url", shared_server().url(db) + "\n");
    const auto app = secrets.write("app-url", app_url + "\n");
    const std::string print_files = "env | grep -E '_FILE=' | sed 's/=.*//' | sort";
    const auto result = test::run({{"--", "sh", "-c", print_files},
                                   {{"DATABASE_URL_FILE", app.string()},
                                    {"AUTO_MIGRATE_DATABASE_URL_FILE", ddl.string()},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                    {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}}});
    CHECK(result.exit_code == 0);
    CHECK(result.out == "DATABASE_URL_FILE\n");
    CHECK(ledger_count(db, "schema_migrations") == "5");
    CHECK_FALSE(contains(result.err, test::PgServer::k_password));
  }
  SUBCASE("a variable and its _FILE twin together are a usage error") {
    test::TempDir secrets;
    const auto file = secrets.write("url", shared_server().url(db));
    const auto result = test::run({{"--", "echo", "service-ran"},
                                   {{"DATABASE_URL", app_url}, {"DATABASE_URL_FILE", file.string()}}});
    CHECK(result.exit_code == 2);
    CHECK(contains(result.err, "set DATABASE_URL or DATABASE_URL_FILE, not both"));
    const auto missing = test::run({{"migrate"}, {{"AUTO_MIGRATE_DATABASE_URL_FILE", "/no/such/secret"}}});
    CHECK(missing.exit_code == 2);
    CHECK(contains(missing.err, "AUTO_MIGRATE_DATABASE_URL_FILE (/no/such/secret): cannot read the file"));
  }
}

TEST_CASE("JSON logs parse line by line and end with the summary event") {
  const std::string db = shared_server().create_database();
  const auto result = test::run({{"migrate"}, env_for(db, {{"AUTO_MIGRATE_LOG_FORMAT", "json"}})});
  CHECK(result.exit_code == 0);
  test::TempDir dir;
  const auto log = dir.write("log.jsonl", result.err);
  const std::string check =
      "import json, sys\n"
      "events = [json.loads(line) for line in open(sys.argv[1])]\n"
      "assert all({'time', 'level', 'event', 'message'} <= set(e) for e in events), events\n"
      "done = events[-1]\n"
      "assert done['event'] == 'migrate.done', done\n"
      "assert done['applied'] == 5 and done['skipped'] == 0 and done['outcome'] == 'ok', done\n"
      "assert isinstance(done['lock_wait_ms'], int) and done['service'] == 'none', done\n"
      "applied = [e for e in events if e['event'] == 'migration.applied']\n"
      "assert [e['version'] for e in applied] == ['001', '002', '003', '004', '005'], applied\n"
      "assert all(isinstance(e['duration_ms'], int) for e in applied)\n";
  const auto script = dir.write("check.py", check);
  CHECK(std::system(("python3 " + script.string() + " " + log.string()).c_str()) == 0);
  CHECK_FALSE(contains(result.err, test::PgServer::k_password));
}

TEST_CASE("A transaction-pooling pooler is refused for the lock; a session-mode one is not") {
  const std::string db = shared_server().create_database();
  SUBCASE("transaction mode") {
    PgBouncer bouncer("transaction");
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", bouncer.url(db)},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()}}});
    CHECK(result.exit_code == 1);
    CHECK(contains(result.err, "refusing to take the migration lock through a transaction-pooling connection pooler"));
    CHECK(contains(result.err, "point AUTO_MIGRATE_DATABASE_URL at PostgreSQL directly"));
    CHECK(shared_server().scalar(db, "SELECT to_regclass('schema_migrations') IS NULL") == "t");
  }
  SUBCASE("transaction mode, while another session holds the lock") {
    // A replica connected to PostgreSQL itself checks only once it finds the lock free;
    // through a pooler (its BackendKeyData is not the backend's) it checks at once: refused
    // before any wait, with nothing taken.
    test::Session holder(shared_server(), db, "direct-holder");
    holder.exec("SELECT pg_advisory_lock(93)");
    PgBouncer bouncer("transaction");
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", bouncer.url(db)},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                    {"AUTO_MIGRATE_LOCK_KEY", "93"}}});
    INFO(result.err);
    CHECK(result.exit_code == 1);
    CHECK(contains(result.err, "refusing to take the migration lock through a transaction-pooling connection pooler"));
    CHECK_FALSE(contains(result.err, "waiting for the migration lock"));
    CHECK(shared_server().scalar(db, "SELECT to_regclass('schema_migrations') IS NULL") == "t");
    CHECK(shared_server().scalar(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == "1");
  }
  SUBCASE("directly over TCP: the server sees this client's own socket, so no probe") {
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", shared_server().url(db)},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                    {"AUTO_MIGRATE_LOG_LEVEL", "debug"}}});
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(contains(result.err, "this socket's own ends, connected directly"));
    CHECK_FALSE(contains(result.err, "pooler probe"));
  }
  SUBCASE("directly over a Unix socket: no address to compare, so the probe runs, and passes") {
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", shared_server().socket_url(db)},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                    {"AUTO_MIGRATE_LOG_LEVEL", "debug"}}});
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(contains(result.err, "not shown to be this socket's own"));
    CHECK(contains(result.err, "pooler probe: backend pids"));
    CHECK(ledger_count(db, "schema_migrations") == "5");
  }
  SUBCASE("session mode") {
    PgBouncer bouncer("session");
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", bouncer.url(db)},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()}}});
    CHECK(result.exit_code == 0);
    CHECK(ledger_count(db, "schema_migrations") == "5");
  }
}

TEST_CASE("A read-only standby is never used for migrating") {
  // A stand-in for a hot standby, as libpq's read-write check sees one: every session
  // is read-only. It has the same database as the primary.
  const std::string db = shared_server().create_database();
  test::PgServer standby;
  standby.start();
  standby.query("postgres", "CREATE DATABASE " + db);
  standby.query("postgres", "ALTER SYSTEM SET default_transaction_read_only = on");
  standby.query("postgres", "SELECT pg_reload_conf()");
  const std::string both = "postgresql://postgres:" + std::string(test::PgServer::k_password) + "@127.0.0.1:" +
                           std::to_string(standby.port()) + ",127.0.0.1:" + std::to_string(shared_server().port());
  const auto result = test::run({{"migrate"},
                                 {{"DATABASE_URL", both + "/" + db}, {"AUTO_MIGRATE_DIR", test::example_migrations().string()}}});
  CHECK(result.exit_code == 0);
  CHECK(ledger_count(db, "schema_migrations") == "5");

  const auto only_standby = test::run({{"migrate"},
                                       {{"DATABASE_URL", standby.url()},
                                        {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                        {"AUTO_MIGRATE_WAIT", "1"}}});
  CHECK(only_standby.exit_code == 4);
  CHECK(contains(only_standby.err, "read-only"));
  CHECK(standby.scalar(db, "SELECT to_regclass('schema_migrations') IS NULL") == "t");
}
