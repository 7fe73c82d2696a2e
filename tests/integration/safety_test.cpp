// Migration safety against a real server: drift, ordering, baseline, no-transaction files
// and repair, concurrent indexes, lock timeouts, planning-time refusals, plan/verify and
// rollback.
#include "binary.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace std::chrono_literals;
using test::Invocation;
using test::shared_server;

namespace {

// A fresh database and a migrations folder of its own.
struct Scenario {
  std::string db = shared_server().create_database();
  test::TempDir dir;

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    extra["DATABASE_URL"] = shared_server().url(db);
    extra["AUTO_MIGRATE_DIR"] = dir.path().string();
    return extra;
  }
  test::Outcome run(std::vector<std::string> args, std::map<std::string, std::string> extra = {}) const {
    return test::run(Invocation(std::move(args), env(std::move(extra))));
  }
  std::string scalar(const std::string& sql) const { return shared_server().scalar(db, sql); }
  std::string versions() const {
    return scalar("SELECT coalesce(string_agg(version || ':' || state, ',' ORDER BY version), '') FROM schema_migrations");
  }
  bool has_table(const std::string& name) const { return scalar("SELECT to_regclass('" + name + "') IS NOT NULL") == "t"; }
};

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

} // namespace

TEST_CASE("Drift: a changed applied file stops with exit 5 naming both checksums, unless allowed") {
  Scenario s;
  s.dir.write("001_a.sql", "CREATE TABLE a (id int);\n");
  REQUIRE(s.run({"migrate"}).exit_code == 0);
  const std::string recorded = s.scalar("SELECT checksum FROM schema_migrations");
  s.dir.write("001_a.sql", "CREATE TABLE a (id bigint);\n");
  s.dir.write("002_b.sql", "CREATE TABLE b (id int);\n");

  const auto stopped = s.run({"migrate"});
  CHECK(stopped.exit_code == 5);
  CHECK(contains(stopped.err, "001_a.sql changed after it was applied"));
  CHECK(contains(stopped.err, "the ledger recorded " + recorded));
  CHECK_FALSE(s.has_table("b"));

  const auto allowed = s.run({"migrate", "--allow-drift"});
  CHECK(allowed.exit_code == 0);
  CHECK(contains(allowed.err, "allowed by AUTO_MIGRATE_ALLOW_DRIFT"));
  CHECK(s.has_table("b"));

  SUBCASE("with FAIL_ON_ERROR=false the service still starts, loudly") {
    const auto lenient = s.run({"--", "echo", "service-ran"});
    CHECK(lenient.exit_code == 0);
    CHECK(lenient.out == "service-ran\n");
    CHECK(contains(lenient.err, "changed after it was applied"));
  }
}

TEST_CASE("CRLF line endings and a byte-order mark are not drift") {
  Scenario s;
  s.dir.write("001_a.sql", "CREATE TABLE a (id int);\nCREATE TABLE a2 (id int);\n");
  REQUIRE(s.run({"migrate"}).exit_code == 0);
  s.dir.write("001_a.sql", "\xEF\xBB\xBF" "CREATE TABLE a (id int);\r\nCREATE TABLE a2 (id int);\r\n");
  const auto again = s.run({"migrate"});
  CHECK(again.exit_code == 0);
  CHECK_FALSE(contains(again.err, "changed"));
  CHECK(s.run({"verify"}).exit_code == 0);
}

TEST_CASE("A database ahead of the image is a warning, never an error") {
  Scenario s;
  s.dir.write("001_a.sql", "CREATE TABLE a (id int);");
  s.dir.write("002_b.sql", "CREATE TABLE b (id int);");
  REQUIRE(s.run({"migrate"}).exit_code == 0);
  std::filesystem::remove(s.dir.path() / "002_b.sql");
  const auto older_image = s.run({"--", "echo", "service-ran"}, {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}});
  CHECK(older_image.exit_code == 0);
  CHECK(older_image.out == "service-ran\n");
  CHECK(contains(older_image.err, "records migration 002_b, which has no file here"));
}

TEST_CASE("Out of order: a pending file older than the newest applied stops with 5, unless allowed") {
  Scenario s;
  s.dir.write("001_a.sql", "CREATE TABLE a (id int);");
  s.dir.write("003_c.sql", "CREATE TABLE c (id int);");
  REQUIRE(s.run({"migrate"}).exit_code == 0);
  s.dir.write("002_b.sql", "CREATE TABLE b (id int);");

  const auto stopped = s.run({"migrate"});
  CHECK(stopped.exit_code == 5);
  CHECK(contains(stopped.err, "002_b.sql is pending but a later migration, 003_c, is already applied"));
  CHECK_FALSE(s.has_table("b"));

  const auto allowed = s.run({"migrate"}, {{"AUTO_MIGRATE_ALLOW_OUT_OF_ORDER", "true"}});
  CHECK(allowed.exit_code == 0);
  CHECK(s.has_table("b"));
  CHECK(s.versions() == "001:applied,002:applied,003:applied");
}

TEST_CASE("Baseline records the files up to VERSION without running them, once, on an empty ledger") {
  Scenario s;
  // An existing database, built before migrate-init, matching 001 and 002.
  shared_server().query(s.db, "CREATE TABLE a (id int); CREATE TABLE b (id int);");
  s.dir.write("001_a.sql", "CREATE TABLE a (id int);");
  s.dir.write("002_b.sql", "CREATE TABLE b (id int);");
  s.dir.write("003_c.sql", "CREATE TABLE c (id int);");

  const auto result = s.run({"migrate"}, {{"AUTO_MIGRATE_BASELINE", "002"}});
  CHECK(result.exit_code == 0);
  CHECK(contains(result.err, "baseline 002: recorded 2 migrations as applied without running them"));
  CHECK(s.versions() == "001:applied,002:applied,003:applied");
  CHECK(s.has_table("c"));

  // Once: a later baseline setting on a non-empty ledger changes nothing.
  s.dir.write("004_d.sql", "CREATE TABLE d (id int);");
  CHECK(s.run({"migrate"}, {{"AUTO_MIGRATE_BASELINE", "004"}}).exit_code == 0);
  CHECK(s.has_table("d"));
}

TEST_CASE("Tables without a ledger and without a baseline give a warning naming their count") {
  Scenario s;
  shared_server().query(s.db, "CREATE TABLE legacy_one (id int); CREATE TABLE legacy_two (id int);");
  s.dir.write("001_a.sql", "CREATE TABLE a (id int);");
  const auto result = s.run({"migrate"});
  CHECK(result.exit_code == 0);
  CHECK(contains(result.err, "the database has 2 tables but no ledger"));
  CHECK(s.has_table("a"));
}

TEST_CASE("A no-transaction file with two CREATE INDEX CONCURRENTLY statements succeeds") {
  Scenario s;
  s.dir.write("001_t.sql", "CREATE TABLE t (a int, b int);");
  s.dir.write("002_indexes.sql", "-- migrate-init: no-transaction\n"
                                 "CREATE INDEX CONCURRENTLY t_a_idx ON t (a);\n"
                                 "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_b_idx ON t (b);\n");
  const auto result = s.run({"migrate"}, {{"AUTO_MIGRATE_STATEMENT_TIMEOUT", "30"}});
  CHECK(result.exit_code == 0);
  CHECK(contains(result.err, "applying 002_indexes.sql (no transaction)"));
  CHECK(s.versions() == "001:applied,002:applied");
  CHECK(s.scalar("SELECT statements_done || '/' || statements_total FROM schema_migrations WHERE version = '002'") == "2/2");
  CHECK(s.scalar("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                 "WHERE c.relname IN ('t_a_idx', 't_b_idx') AND i.indisvalid") == "2");
}

TEST_CASE("Other tools' no-transaction markers are accepted") {
  for (const char* marker : {"-- migrate:up transaction:false", "-- +goose NO TRANSACTION", "-- atlas:txmode none"}) {
    CAPTURE(marker);
    Scenario s;
    s.dir.write("001_t.sql", "CREATE TABLE t (a int);");
    s.dir.write("002_i.sql", std::string(marker) + "\nCREATE INDEX CONCURRENTLY t_a_idx ON t (a);\n");
    CHECK(s.run({"migrate"}).exit_code == 0);
    CHECK(s.versions() == "001:applied,002:applied");
  }
}

TEST_CASE("A no-transaction file failing at its second statement is left unfinished; repair --retry resumes it") {
  Scenario s;
  s.dir.write("001_t.sql", "CREATE TABLE t (a int);");
  s.dir.write("002_two.sql", "-- migrate-init: no-transaction\n"
                             "CREATE INDEX CONCURRENTLY t_a_idx ON t (a);\n"
                             "CREATE INDEX CONCURRENTLY u_b_idx ON u (b);\n");
  s.dir.write("003_after.sql", "CREATE TABLE after_two (id int);");

  const auto failed = s.run({"migrate"});
  CHECK(failed.exit_code == 1);
  CHECK(contains(failed.err, "migration 002_two failed: statement 2 of 2: 002_two.sql:3: ERROR: "
                             "relation \"u\" does not exist"));
  CHECK(contains(failed.err, "`migrate-init repair 002 --retry`"));
  CHECK(s.versions() == "001:applied,002:running");
  CHECK(s.scalar("SELECT statements_done FROM schema_migrations WHERE version = '002'") == "1");
  CHECK(contains(s.scalar("SELECT last_error FROM schema_migrations WHERE version = '002'"), "relation \"u\" does not exist"));

  const auto next_start = s.run({"--", "echo", "service-ran"}, {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}});
  CHECK(next_start.exit_code == 5);
  CHECK(contains(next_start.err, "migration 002_two is unfinished: 1 of 2 statements done"));
  CHECK(contains(next_start.err, "run `migrate-init repair 002 --retry` to resume at statement 2, or "
                                 "`migrate-init repair 002 --applied`"));
  CHECK_FALSE(s.has_table("after_two"));

  const auto status = s.run({"status"});
  CHECK(contains(status.out, "two    unfinished: 1 of 2 statements done\n"));

  // The cause fixed, retry runs statement 2 only: statement 1 again would fail (exists).
  shared_server().query(s.db, "CREATE TABLE u (b int)");
  const auto retried = s.run({"repair", "002", "--retry"});
  CHECK(retried.exit_code == 0);
  CHECK(contains(retried.err, "resuming 002_two at statement 2 of 2"));
  CHECK(s.versions() == "001:applied,002:applied");
  CHECK(s.run({"migrate"}).exit_code == 0);
  CHECK(s.has_table("after_two"));
}

TEST_CASE("repair --applied records an unfinished migration that was completed by hand") {
  Scenario s;
  s.dir.write("001_x.sql", "-- migrate-init: no-transaction\nCREATE TABLE x (id int);\nSELECT * FROM missing;\n");
  REQUIRE(s.run({"migrate"}).exit_code == 1);
  CHECK(s.versions() == "001:running");
  CHECK(s.run({"repair", "001", "--applied"}).exit_code == 0);
  CHECK(s.versions() == "001:applied");
  CHECK(s.run({"verify"}).exit_code == 0);
  CHECK(s.run({"repair", "001"}).exit_code == 2);
}

TEST_CASE("An INVALID index left by an earlier concurrent build fails the migration instead of being recorded") {
  Scenario s;
  shared_server().query(s.db, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1);");
  // A unique concurrent build over duplicates fails and leaves the index INVALID.
  CHECK_THROWS(shared_server().query(s.db, "CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a)"));
  s.dir.write("001_key.sql", "-- migrate-init: no-transaction\n"
                             "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_key ON t (a);\n");
  const auto result = s.run({"migrate"});
  CHECK(result.exit_code == 1);
  CHECK(contains(result.err, "index t_a_key is INVALID after the concurrent build"));
  CHECK(s.versions() == "001:running");
}

TEST_CASE("Unrunnable files are refused at planning time, before anything runs") {
  struct Case {
    const char* file;
    const char* sql;
    const char* expected;
  };
  for (const Case& bad : {Case{"002_cic.sql", "SELECT 1;\nCREATE INDEX CONCURRENTLY t_idx ON t (a);\n",
                               "002_cic.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a transaction block"},
                          Case{"002_vacuum.sql", "VACUUM t;\n", "002_vacuum.sql:1: VACUUM cannot run inside a transaction"},
                          Case{"002_meta.sql", "SELECT 1;\n\\set x 1\nSELECT 2;\n", "002_meta.sql:2: a psql meta-command"},
                          Case{"002_commit.sql", "CREATE TABLE y (id int);\nCOMMIT;\nCREATE TABLE z (id int);\n",
                               "002_commit.sql:2: COMMIT inside a migration would split it from its ledger row"},
                          Case{"002_copy.sql", "CREATE TABLE y (id int);\nCOPY y FROM STDIN;\n",
                               "002_copy.sql:2: COPY ... STDIN/STDOUT needs psql"}}) {
    CAPTURE(bad.file);
    Scenario s;
    s.dir.write("001_t.sql", "CREATE TABLE t (a int);");
    s.dir.write(bad.file, bad.sql);
    const auto result = s.run({"migrate"});
    CHECK(result.exit_code == 1);
    CHECK(contains(result.err, bad.expected));
    CHECK_FALSE(s.has_table("t")); // 001 did not run either
  }
}

TEST_CASE("A file that wraps itself in BEGIN ... COMMIT applies atomically and is recorded") {
  Scenario s;
  s.dir.write("001_wrapped.sql", "BEGIN;\nCREATE TABLE w (id int);\nINSERT INTO w VALUES (1);\nCOMMIT;\n");
  s.dir.write("002_wrapped_bad.sql", "BEGIN;\nCREATE TABLE w2 (id int);\nSELECT * FROM nope;\nCOMMIT;\n");
  const auto result = s.run({"migrate"});
  CHECK(result.exit_code == 1);
  CHECK(contains(result.err, "002_wrapped_bad.sql:3: ERROR: relation \"nope\" does not exist"));
  CHECK(s.versions() == "001:applied");
  CHECK(s.scalar("SELECT count(*) FROM w") == "1");
  CHECK_FALSE(s.has_table("w2"));
}

TEST_CASE("A lock held on a table makes the migration retry, then succeed once the lock is released") {
  Scenario s;
  s.dir.write("001_t.sql", "CREATE TABLE t (a int);");
  REQUIRE(s.run({"migrate"}).exit_code == 0);
  s.dir.write("002_alter.sql", "ALTER TABLE t ADD COLUMN b int;");

  test::Session blocker(shared_server(), s.db, "blocker");
  blocker.exec("BEGIN");
  blocker.exec("LOCK TABLE t IN ACCESS SHARE MODE");
  test::Running migrating(Invocation({"migrate"}, s.env({{"AUTO_MIGRATE_DB_LOCK_TIMEOUT", "0.2"},
                                                         {"AUTO_MIGRATE_DB_LOCK_RETRIES", "30"}})));
  REQUIRE(migrating.wait_for_log("lock timeout (attempt 2 of 30)"));
  blocker.exec("COMMIT");
  const auto outcome = migrating.wait(60s);
  CHECK(outcome.exit_code == 0);
  CHECK(contains(outcome.err, "02_alter.sql: lock timeout (attempt 1 of 30), retrying in 500 ms"));
  CHECK(s.versions() == "001:applied,002:applied");

  SUBCASE("and gives up after the last attempt") {
    s.dir.write("003_alter.sql", "ALTER TABLE t ADD COLUMN c int;");
    blocker.exec("BEGIN");
    blocker.exec("LOCK TABLE t IN ACCESS SHARE MODE");
    const auto gave_up = s.run({"migrate"}, {{"AUTO_MIGRATE_DB_LOCK_TIMEOUT", "0.1"}, {"AUTO_MIGRATE_DB_LOCK_RETRIES", "2"}});
    blocker.exec("ROLLBACK");
    CHECK(gave_up.exit_code == 1);
    CHECK(contains(gave_up.err, "canceling statement due to lock timeout"));
    CHECK(contains(gave_up.err, "gave up after 2 attempts"));
    CHECK(s.versions() == "001:applied,002:applied");
  }
}

TEST_CASE("plan and verify change nothing; verify exits 5 until the database matches") {
  Scenario s;
  s.dir.write("001_a.sql", "CREATE TABLE a (id int);");
  s.dir.write("002_i.sql", "-- migrate-init: no-transaction\nCREATE INDEX CONCURRENTLY a_idx ON a (id);");

  const auto plan = s.run({"plan"});
  CHECK(plan.exit_code == 0);
  CHECK(contains(plan.out, "001_a.sql  "));
  CHECK(contains(plan.out, "  transaction\n"));
  CHECK(contains(plan.out, "002_i.sql  "));
  CHECK(contains(plan.out, "  no-transaction\n"));
  const auto plan_json = s.run({"plan", "--json"});
  CHECK(contains(plan_json.out, "{\"pending\":[{\"version\":\"001\",\"name\":\"a\",\"file\":\"001_a.sql\",\"checksum\":\""));
  CHECK(contains(plan_json.out, "\"mode\":\"no-transaction\""));

  const auto verify = s.run({"verify"});
  CHECK(verify.exit_code == 5);
  CHECK(contains(verify.out, "problem: 001_a.sql is not applied"));
  CHECK(contains(verify.out, "problem: 002_i.sql is not applied"));
  CHECK(contains(s.run({"verify", "--json"}).out, "{\"ok\":false,"));
  CHECK_FALSE(s.has_table("schema_migrations"));
  CHECK_FALSE(s.has_table("a"));

  REQUIRE(s.run({"migrate"}).exit_code == 0);
  const auto verified = s.run({"verify", "--json"});
  CHECK(verified.exit_code == 0);
  CHECK(verified.out == "{\"ok\":true,\"report\":{\"problems\":[],\"warnings\":[]}}\n");
  const auto status = s.run({"status", "--json"});
  CHECK(contains(status.out, "\"state\":\"applied\""));
  CHECK(contains(status.out, "\"file_changed\":false"));
}

TEST_CASE("rollback undoes the latest migration and its ledger row, and refuses a file without a down section") {
  Scenario s;
  s.dir.write("001_a.sql", "CREATE TABLE a (id int);\n");
  s.dir.write("002_b.sql", "-- migrate:up\nCREATE TABLE b (id int);\n\n-- migrate:down\nDROP TABLE b;\n");
  s.dir.write("003_c.sql", "-- migrate:up\nCREATE TABLE c (id int);\n-- migrate:down\nDROP TABLE c;\n");
  REQUIRE(s.run({"migrate"}).exit_code == 0);
  CHECK(s.has_table("b"));

  const auto latest = s.run({"rollback"});
  CHECK(latest.exit_code == 0);
  CHECK(contains(latest.err, "rolling back 003_c.sql"));
  CHECK_FALSE(s.has_table("c"));
  CHECK(s.versions() == "001:applied,002:applied");

  const auto refused = s.run({"rollback", "--to", "0"});
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.err, "cannot roll back 001_a: 001_a.sql has no -- migrate:down section"));
  CHECK(s.has_table("b")); // nothing was undone
  CHECK(s.versions() == "001:applied,002:applied");

  CHECK(s.run({"rollback", "--to", "1"}).exit_code == 0);
  CHECK_FALSE(s.has_table("b"));
  CHECK(s.versions() == "001:applied");
  // Start-up goes forward again.
  CHECK(s.run({"migrate"}).exit_code == 0);
  CHECK(s.versions() == "001:applied,002:applied,003:applied");
}

TEST_CASE("A migration running longer than 10 s logs a heartbeat") {
  Scenario s;
  s.dir.write("001_slow.sql", "SELECT pg_sleep(10.5);");
  const auto result = s.run({"migrate"});
  CHECK(result.exit_code == 0);
  CHECK(contains(result.err, "still running 001_slow: 10 s, in one transaction"));
}

TEST_CASE("A file that changes search_path or the role does not misdirect the ledger or the next file") {
  Scenario s;
  s.dir.write("001_dump_style.sql", "SELECT pg_catalog.set_config('search_path', '', false);\n"
                                    "CREATE TABLE public.t1 (id int);\n");
  s.dir.write("002_plain.sql", "CREATE TABLE t2 (id int);\n");
  const auto result = s.run({"migrate"});
  CHECK(result.exit_code == 0);
  CHECK(s.versions() == "001:applied,002:applied");
  CHECK(s.has_table("public.t2"));
  CHECK(s.run({"migrate"}).exit_code == 0); // nothing applied twice
}

TEST_CASE("A concurrent index build waits for older transactions instead of timing out on lock_timeout") {
  Scenario s;
  shared_server().query(s.db, "CREATE TABLE big (id int)");
  s.dir.write("001_index.sql", "-- migrate-init: no-transaction\nCREATE INDEX CONCURRENTLY big_id ON big (id);\n");
  test::Session reader(shared_server(), s.db, "old-snapshot");
  reader.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  reader.exec("SELECT count(*) FROM pg_class");
  test::Running migrating(Invocation({"migrate"}, s.env({{"AUTO_MIGRATE_DB_LOCK_TIMEOUT", "0.2"}})));
  std::this_thread::sleep_for(1500ms);
  CHECK(s.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY big_id%'") == "1");
  reader.exec("COMMIT");
  const auto outcome = migrating.wait(60s);
  CHECK(outcome.exit_code == 0);
  CHECK(s.versions() == "001:applied");
  CHECK(s.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_id'::regclass") == "t");
}

TEST_CASE("A replica that finds another's no-transaction migration running waits for it instead of refusing") {
  Scenario s;
  s.dir.write("001_slow.sql", "-- migrate-init: no-transaction\nSELECT pg_sleep(2);\nCREATE TABLE done (id int);\n");
  test::Running first(Invocation({"migrate"}, s.env()));
  for (int i = 0; i < 500 && s.scalar("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(2)'") == "0"; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(s.versions() == "001:running");
  const auto second = s.run({"--", "echo", "service-ran"}, {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}});
  CHECK(second.exit_code == 0);
  CHECK(second.out == "service-ran\n");
  CHECK(contains(second.err, "another instance applied them"));
  CHECK(first.wait(60s).exit_code == 0);
  CHECK(s.versions() == "001:applied");
}

TEST_CASE("Server notices go through the log, as JSON when asked") {
  Scenario s;
  s.dir.write("001_twice.sql", "CREATE TABLE IF NOT EXISTS n (id int);\nCREATE TABLE IF NOT EXISTS n (id int);\n");
  const auto result = s.run({"migrate"}, {{"AUTO_MIGRATE_LOG_FORMAT", "json"}});
  CHECK(result.exit_code == 0);
  CHECK(contains(result.err, "\"event\":\"db.notice\",\"message\":\"server NOTICE: relation \\\"n\\\" already exists, "
                             "skipping\",\"severity\":\"NOTICE\""));
  CHECK_FALSE(contains(result.err, "\nNOTICE:"));
  CHECK(result.err.rfind("NOTICE", 0) != 0);
}
