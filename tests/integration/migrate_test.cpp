// The built binary against a real PostgreSQL: migrating, failing, adopting, reporting.
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>

using namespace std::chrono_literals;
using test::Invocation;
using test::env_for;
using test::ledger_versions;
using test::shared_server;

namespace {

// The environment of a run against `database` with migrations from `dir`.
bool table_exists(const std::string& database, const std::string& table) {
  return shared_server().scalar(database, "SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
}

// 001 creates a table; 002 creates a table, inserts, then fails on its line 3.
void write_failing_set(const test::TempDir& dir) {
  dir.write("001_create_widgets.sql", "CREATE TABLE widgets (id int PRIMARY KEY);\n");
  dir.write("002_broken.sql", "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\n"
                              "SELECT * FROM no_such_table;\n");
  dir.write("003_after.sql", "CREATE TABLE after_broken (id int);\n");
}

} // namespace

TEST_CASE("A fresh database migrates fully, then the service runs with the same environment") {
  const std::string db = shared_server().create_database();
  auto env = env_for(db, test::example_migrations());
  const auto result = test::run({{"--", "sh", "-c", "echo service-ran; test -n \"$DATABASE_URL\" && echo has-url"}, env});

  CHECK(result.exit_code == 0);
  CHECK(result.out == "service-ran\nhas-url\n");
  CHECK(ledger_versions(db) == "001,002,003,004,005");
  CHECK(table_exists(db, "run_edges"));
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations WHERE checksum ~ '^[0-9a-f]{64}$' "
                                   "AND applied_by LIKE '% migrate-init/%' AND execution_ms >= 0") == "5");
  CHECK(result.err.find("applied 5 migrations in") != std::string::npos);
  CHECK(result.err.find("applying 004_add_queue_claim_indexes.sql") != std::string::npos);
  CHECK(result.err.find(test::PgServer::k_password) == std::string::npos);
}

TEST_CASE("A second run applies nothing and takes no lock") {
  const std::string db = shared_server().create_database();
  auto env = env_for(db, test::example_migrations());
  env["AUTO_MIGRATE_LOCK_KEY"] = "4242";
  REQUIRE(test::run({{"migrate"}, env}).exit_code == 0);

  // With the lock held elsewhere, a run that tried to lock would time out with exit 3.
  test::Session holder(shared_server(), db, "lock-holder");
  holder.exec("SELECT pg_advisory_lock(4242)");
  env["AUTO_MIGRATE_LOCK_TIMEOUT"] = "1";
  const auto again = test::run({{"--", "true"}, env});
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("database is up to date (5 migrations)") != std::string::npos);
  CHECK(again.err.find("taking the migration lock") == std::string::npos);
  CHECK(again.err.find("0 ms waiting for the lock") != std::string::npos);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations") == "5");
}

TEST_CASE("A failing file leaves neither its effects nor its ledger row") {
  test::TempDir dir;
  write_failing_set(dir);

  SUBCASE("with FAIL_ON_ERROR the service never starts and the exit code is 1") {
    const std::string db = shared_server().create_database();
    auto env = env_for(db, dir.path());
    env["AUTO_MIGRATE_FAIL_ON_ERROR"] = "true";
    const auto result = test::run({{"--", "echo", "service-ran"}, env});
    CHECK(result.exit_code == 1);
    CHECK(result.out.empty());
    CHECK(result.err.find("migration 002_broken failed: 002_broken.sql:3: ERROR: relation \"no_such_table\" "
                          "does not exist") != std::string::npos);
    CHECK(ledger_versions(db) == "001");
    CHECK(table_exists(db, "widgets"));
    CHECK_FALSE(table_exists(db, "half_done"));
    CHECK_FALSE(table_exists(db, "after_broken"));
  }
  SUBCASE("without FAIL_ON_ERROR the failure is logged, the service starts, and its exit code is returned") {
    const std::string db = shared_server().create_database();
    const auto result = test::run({{"--", "sh", "-c", "echo service-ran; exit 7"}, env_for(db, dir.path())});
    CHECK(result.exit_code == 7);
    CHECK(result.out == "service-ran\n");
    CHECK(result.err.find("002_broken.sql:3: ERROR") != std::string::npos);
    CHECK(result.err.find("starting the service anyway") != std::string::npos);
    CHECK(ledger_versions(db) == "001");
    CHECK_FALSE(table_exists(db, "half_done"));
  }
  SUBCASE("migrate exits 1 whatever FAIL_ON_ERROR says") {
    const std::string db = shared_server().create_database();
    auto env = env_for(db, dir.path());
    env["AUTO_MIGRATE_FAIL_ON_ERROR"] = "false";
    const auto result = test::run({{"migrate"}, env});
    CHECK(result.exit_code == 1);
    CHECK(ledger_versions(db) == "001");
  }
}

TEST_CASE("AUTO_MIGRATE=false never connects and starts the service at once") {
  // Nothing listens on this port: any connection attempt would wait 30 s and fail.
  const std::map<std::string, std::string> env{
      {"AUTO_MIGRATE", "FALSE"},
      {"DATABASE_URL", "postgresql://u:p@127.0.0.1:" + std::to_string(test::free_port()) + "/db"},
      {"AUTO_MIGRATE_DIR", "/nonexistent"}};
  const auto result = test::run({{"--", "echo", "service-ran"}, env});
  CHECK(result.exit_code == 0);
  CHECK(result.out == "service-ran\n");
  CHECK(result.err.find("waiting for the database") == std::string::npos);
  CHECK(result.elapsed < 5s);
}

TEST_CASE("A seed-style ledger is adopted: its rows count as applied") {
  const std::string db = shared_server().create_database();
  // What a seed-style script leaves behind: 001 applied with psql and recorded by id.
  std::ifstream first(test::example_migrations() / "001_initial_schema.sql");
  shared_server().query(db, std::string(std::istreambuf_iterator<char>(first), {}));
  shared_server().query(db, "CREATE TABLE schema_migrations (id text PRIMARY KEY, applied_at timestamptz DEFAULT now());"
                            "INSERT INTO schema_migrations (id) VALUES ('001_initial_schema');");
  const auto result = test::run({{"migrate"}, env_for(db, test::example_migrations())});
  CHECK(result.exit_code == 0);
  CHECK(result.err.find("adopting existing ledger schema_migrations") != std::string::npos);
  CHECK(result.err.find("applying 001_initial_schema.sql") == std::string::npos);
  CHECK(result.err.find("applied 4 migrations") != std::string::npos);
  CHECK(ledger_versions(db) == "001,002,003,004,005");
  CHECK(shared_server().scalar(db, "SELECT string_agg(id, ',' ORDER BY id) FROM schema_migrations") ==
        "001_initial_schema,002_add_scheduling_and_priority,003_add_run_edges,004_add_queue_claim_indexes,"
        "005_add_step_ordering_constraints");
  CHECK(shared_server().scalar(db, "SELECT name FROM schema_migrations WHERE version = '001'") == "initial_schema");
}

// The fast path reads the ledger with SELECT * and maps the rows itself: a column whose
// text output differs from the ::text cast the SQL read used (char(n) pads) must read the
// same, or 001 would look pending and run again.
TEST_CASE("A ledger with columns of other types reads as before: char(n) and integer versions, timestamp") {
  for (const std::string shape :
       {"version char(8) PRIMARY KEY, name text, checksum text, applied_at timestamp DEFAULT now()",
        "version integer PRIMARY KEY, name varchar(100), checksum text, applied_at timestamptz DEFAULT now()"}) {
    CAPTURE(shape);
    const std::string db = shared_server().create_database();
    test::TempDir dir;
    dir.write("001_first.sql", "CREATE TABLE first (id int);");
    dir.write("002_second.sql", "CREATE TABLE second (id int);");
    shared_server().query(db, "CREATE TABLE first (id int); CREATE TABLE schema_migrations (" + shape +
                                  "); INSERT INTO schema_migrations (version, name) VALUES ('1', 'first');");
    const auto result = test::run({{"migrate"}, env_for(db, dir.path())});
    CAPTURE(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("applying 001_first.sql") == std::string::npos);
    CHECK(result.err.find("applied 1 migration") != std::string::npos);
    const auto again = test::run({{"migrate"}, env_for(db, dir.path())});
    CAPTURE(again.err);
    CHECK(again.exit_code == 0);
    CHECK(again.err.find("database is up to date (2 migrations)") != std::string::npos);
  }
}

// The schema a ledger found on search_path is in feeds the lock key: the first start (no
// ledger yet, read through pg_namespace) and the next ones (the fast path's
// pg_identify_object, which quotes "Acme Corp") must name it the same, or two replicas of
// these kinds would hold different locks and migrate at once.
TEST_CASE("A ledger in a schema that needs quoting: one lock key on the first start and after, its rows there") {
  const std::string db = shared_server().create_database();
  shared_server().query(db, "CREATE SCHEMA \"Acme Corp\"; ALTER DATABASE " + db + " SET search_path = \"Acme Corp\"");
  test::TempDir dir;
  dir.write("001_first.sql", "CREATE TABLE first (id int);");
  const auto first = test::run({{"migrate"}, env_for(db, dir.path())});
  CAPTURE(first.err);
  REQUIRE(first.exit_code == 0);
  dir.write("002_second.sql", "CREATE TABLE second (id int);");
  const auto second = test::run({{"migrate"}, env_for(db, dir.path())});
  CAPTURE(second.err);
  CHECK(second.exit_code == 0);
  CHECK_FALSE(test::lock_key_logged(first.err).empty());
  CHECK(test::lock_key_logged(second.err) == test::lock_key_logged(first.err));
  CHECK(shared_server().scalar(db, "SELECT string_agg(version, ',' ORDER BY version) FROM \"Acme Corp\".schema_migrations") ==
        "001,002");
}

TEST_CASE("status lists every migration as applied or pending") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  dir.write("001_first.sql", "CREATE TABLE first (id int);");
  REQUIRE(test::run({{"migrate"}, env_for(db, dir.path())}).exit_code == 0);
  dir.write("002_second.sql", "CREATE TABLE second (id int);");

  const auto result = test::run({{"status"}, env_for(db, dir.path())});
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("VERSION  NAME    APPLIED") == 0);
  CHECK(result.out.find("001      first   20") != std::string::npos); // an applied_at timestamp
  CHECK(result.out.find("002      second  pending") != std::string::npos);
  CHECK_FALSE(table_exists(db, "second"));
}

TEST_CASE("A schema-qualified ledger is created in its schema") {
  const std::string db = shared_server().create_database();
  auto env = env_for(db, test::example_migrations());
  env["AUTO_MIGRATE_TABLE"] = "ops.migration_ledger";
  REQUIRE(test::run({{"migrate"}, env}).exit_code == 0);
  CHECK(ledger_versions(db, "ops.migration_ledger") == "001,002,003,004,005");
  CHECK_FALSE(table_exists(db, "public.schema_migrations"));
}

TEST_CASE("Problems with the migrations directory are found before connecting") {
  // An unreachable database: had migrate-init connected first, it would wait, then exit 4.
  const std::string unreachable = "postgresql://u:p@127.0.0.1:" + std::to_string(test::free_port()) + "/db";

  SUBCASE("a missing directory is a migration failure") {
    const std::map<std::string, std::string> env{
        {"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", "/no/such/dir"}, {"AUTO_MIGRATE_FAIL_ON_ERROR", "1"}};
    const auto result = test::run({{"--", "echo", "service-ran"}, env});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("migrations directory /no/such/dir does not exist") != std::string::npos);
    CHECK(result.out.empty());
    CHECK(result.elapsed < 5s);

    const auto lenient = test::run({{"--", "echo", "service-ran"},
                                    {{"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", "/no/such/dir"}}});
    CHECK(lenient.exit_code == 0);
    CHECK(lenient.out == "service-ran\n");
  }
  SUBCASE("two files with one version are an error naming both") {
    test::TempDir dir;
    dir.write("001_a.sql", "SELECT 1;");
    dir.write("1_b.sql", "SELECT 1;");
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", dir.path()}}});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("two migrations have version 1: 001_a.sql and 1_b.sql") != std::string::npos);
  }
  SUBCASE("an unreadable directory is a migration failure") {
    if (geteuid() == 0) return; // root reads everything; covered for other users
    test::TempDir dir;
    chmod(dir.path().c_str(), 0);
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", dir.path()}}});
    chmod(dir.path().c_str(), 0700);
    CHECK(result.exit_code == 1);
  }
}

// A listening socket that accepts connections (the kernel does) and never answers them: a
// database host that hangs. libpq's attempt waits up to 10 s on it.
namespace {
class SilentListener {
public:
  SilentListener() : m_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(m_fd, 64) == 0);
    REQUIRE(getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    m_port = ntohs(address.sin_port);
  }
  ~SilentListener() { close(m_fd); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return m_port; }

private:
  int m_fd;
  int m_port = 0;
};
} // namespace

// The files are checksummed on another thread while migrate-init connects
// (pipeline/files_while_connecting.hpp). A file's error must still look as if the files
// had been read first: it ends the wait for the database at once, it wins over the
// connection's own failure, and nothing is asked of the database.
TEST_CASE("A migration file's error, found while connecting, ends the wait and wins over the connection's error") {
  // 100 files: from 64 on, they are checksummed on the other thread.
  test::TempDir dir;
  dir.write("001_a.sql", "CREATE TABLE should_not_exist (id int);\n");
  for (int i = 2; i < 100; ++i) dir.write(std::to_string(i) + "_t.sql", "CREATE TABLE t" + std::to_string(i) + " (id int);\n");
  std::filesystem::create_symlink("/no/such/file.sql", dir.path() / "100_gone.sql");
  const std::string file_error = "cannot read migration " + (dir.path() / "100_gone.sql").string() + ": No such file";
  const auto run_against = [&](const std::string& url) {
    return test::run({{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", dir.path()}, {"AUTO_MIGRATE_WAIT", "60"}}});
  };

  SUBCASE("a database host that accepts and never answers: no 10 s attempt, no 60 s wait") {
    const SilentListener silent;
    const auto result = run_against("postgresql://u:p@127.0.0.1:" + std::to_string(silent.port()) + "/db");
    CHECK(result.exit_code == 1);
    CHECK(test::contains(result.err, file_error));
    CHECK(result.elapsed < 5s);
  }
  SUBCASE("a wrong password (a failure not retried) does not hide the file's error") {
    const std::string db = shared_server().create_database();
    std::string url = shared_server().url(db);
    const std::string password = test::PgServer::k_password;
    url.replace(url.find(password), password.size(), "wrong-password");
    const auto result = run_against(url);
    CHECK(result.exit_code == 1);
    CHECK(test::contains(result.err, file_error));
    CHECK_FALSE(test::contains(result.err, "cannot connect"));
  }
  SUBCASE("a database that is up: nothing is asked of it") {
    const std::string db = shared_server().create_database();
    const auto result = run_against(shared_server().url(db));
    CHECK(result.exit_code == 1);
    CHECK(test::contains(result.err, file_error));
    CHECK_FALSE(table_exists(db, "public.schema_migrations"));
    CHECK_FALSE(table_exists(db, "public.should_not_exist"));
  }
}

// Trials at random moments: how far the checksumming has got when the connection is made
// or fails depends on how many files come before the bad one, and on the database (and
// under 64 files, the files are checksummed before connecting).
// Invariant: whatever the timing, the run exits 1 naming the bad file, within seconds,
// never with a connection's error, and the database is left untouched.
TEST_CASE("Trials: a bad file anywhere in a large set, against any database, is reported as the files' error") {
  namespace fs = std::filesystem;
  const SilentListener silent;
  const std::string db = shared_server().create_database();
  std::string wrong_password = shared_server().url(db);
  const std::string password = test::PgServer::k_password;
  wrong_password.replace(wrong_password.find(password), password.size(), "wrong-password");
  const std::vector<std::pair<const char*, std::string>> databases{
      {"up", shared_server().url(db)},
      {"wrong password", wrong_password},
      {"nothing listening", "postgresql://u:p@127.0.0.1:" + std::to_string(test::free_port()) + "/db"},
      {"never answers", "postgresql://u:p@127.0.0.1:" + std::to_string(silent.port()) + "/db"},
  };
  std::mt19937 random(std::random_device{}());
  test::TempDir outside;
  const auto secret = outside.write("secret.sql", "CREATE TABLE leaked (id int);\n");
  for (int trial = 0; trial < 16; ++trial) {
    const auto files = std::uniform_int_distribution<int>(1, 1500)(random);
    const auto bad = std::uniform_int_distribution<int>(1, files)(random);
    const auto& [what, url] = databases[static_cast<std::size_t>(trial) % databases.size()];
    const std::string condition = what;
    const bool dangling = random() % 2 == 0;
    CAPTURE(trial);
    CAPTURE(files);
    CAPTURE(bad);
    CAPTURE(condition);
    CAPTURE(dangling);
    test::TempDir dir;
    for (int i = 1; i <= files; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "%05d_t%d.sql", i, i);
      if (i != bad) {
        dir.write(name, "CREATE TABLE t" + std::to_string(i) + " (id int);\n");
      } else {
        fs::create_symlink(dangling ? fs::path("/no/such/file.sql") : secret, dir.path() / name);
      }
    }
    char bad_name[32];
    std::snprintf(bad_name, sizeof bad_name, "%05d_t%d.sql", bad, bad);
    const auto result = test::run(
        {{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", dir.path()}, {"AUTO_MIGRATE_WAIT", "60"}}});
    CHECK(result.exit_code == 1);
    CHECK(test::contains(result.err, (dangling ? "cannot read migration " : "refusing migration ") +
                                         (dir.path() / bad_name).string() + ": "));
    CHECK_FALSE(test::contains(result.err, "cannot connect"));
    CHECK_FALSE(test::contains(result.err, "not reachable"));
    CHECK(result.elapsed < 10s);
  }
  CHECK_FALSE(table_exists(db, "public.schema_migrations"));
  CHECK_FALSE(table_exists(db, "public.t1"));
  CHECK_FALSE(table_exists(db, "public.leaked"));
}

TEST_CASE("Files that are not migrations are ignored with a warning; an empty directory is fine") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  dir.write("README.md", "docs");
  dir.write("notes.txt", "not sql");
  dir.write("01-typo.sql", "SELECT 1;");
  const auto empty = test::run({{"migrate"}, env_for(db, dir.path())});
  CHECK(empty.exit_code == 0);
  CHECK(empty.err.find("notes.txt: not a migration") != std::string::npos);
  CHECK(empty.err.find("01-typo.sql: not a migration") != std::string::npos);
  CHECK(empty.err.find("README.md") == std::string::npos);
  CHECK(empty.err.find("database is up to date (0 migrations)") != std::string::npos);
}

TEST_CASE("Bad settings are usage errors: exit 2 naming the variable or flag and the value") {
  const std::map<std::string, std::string> base{{"AUTO_MIGRATE", "false"}};
  struct Case {
    std::string name, value, expected;
  };
  for (const Case& bad : {Case{"AUTO_MIGRATE_FAIL_ON_ERROR", "maybe", "AUTO_MIGRATE_FAIL_ON_ERROR: \"maybe\" is not a boolean"},
                          Case{"AUTO_MIGRATE_WAIT", "ten", "AUTO_MIGRATE_WAIT: \"ten\" is not a number of seconds"},
                          Case{"AUTO_MIGRATE_LOCK_KEY", "12x", "AUTO_MIGRATE_LOCK_KEY: \"12x\" is not a 64-bit integer"},
                          Case{"AUTO_MIGRATE_TABLE", "a.b.c", "AUTO_MIGRATE_TABLE: \"a.b.c\" is not a table name"}}) {
    CAPTURE(bad.name);
    auto env = base;
    env[bad.name] = bad.value;
    env["AUTO_MIGRATE_FAIL_ON_ERROR"] = bad.name == "AUTO_MIGRATE_FAIL_ON_ERROR" ? bad.value : "false";
    const auto result = test::run({{"--", "echo", "service-ran"}, env});
    CHECK(result.exit_code == 2);
    CHECK(result.err.find(bad.expected) != std::string::npos);
    CHECK(result.out.empty());
  }
  const auto flag = test::run({{"--wait=-1", "--", "true"}, base});
  CHECK(flag.exit_code == 2);
  CHECK(flag.err.find("--wait: \"-1\" is not a number of seconds") != std::string::npos);

  const auto url = test::run({{"migrate"}, {{"DATABASE_URL", "host=db password=topsecret-value bogus"}}});
  CHECK(url.exit_code == 2);
  CHECK(url.err.find("DATABASE_URL is not a valid PostgreSQL URI or conninfo") != std::string::npos);
  CHECK(url.err.find("topsecret-value") == std::string::npos);
}

TEST_CASE("The service command: argv intact, 127 when not found, 126 when not executable") {
  const std::map<std::string, std::string> env{{"AUTO_MIGRATE", "off"}, {"GREETING", "hello there"}};
  const auto argv = test::run({{"--", "sh", "-c", "printf '[%s]' \"$@\"; printf ' %s\\n' \"$GREETING\"; cat", "sh",
                                "a b", "", "'quoted' \"double\"", "--dir"},
                               env,
                               "from stdin\n"});
  CHECK(argv.exit_code == 0);
  CHECK(argv.out == "[a b][]['quoted' \"double\"][--dir] hello there\nfrom stdin\n");

  const auto missing = test::run({{"--", "no-such-command-xyz"}, env});
  CHECK(missing.exit_code == 127);
  CHECK(missing.err.find("cannot run \"no-such-command-xyz\": command not found") != std::string::npos);

  test::TempDir dir;
  const auto script = dir.write("not-executable.sh", "#!/bin/sh\necho hi\n");
  const auto denied = test::run({{"--", script.string()}, env});
  CHECK(denied.exit_code == 126);
  CHECK(denied.err.find("Permission denied") != std::string::npos);

  const auto no_dash = test::run({{"echo", "without", "separator"}, env});
  CHECK(no_dash.exit_code == 0);
  CHECK(no_dash.out == "without separator\n");
}

TEST_CASE("A wrong password fails at once with exit 4 and is never printed") {
  const std::string db = shared_server().create_database();
  std::string url = shared_server().url(db);
  url.replace(url.find(test::PgServer::k_password), std::string(test::PgServer::k_password).size(), "Wr0ng-pa55word");
  const auto result = test::run({{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", test::example_migrations()}}});
  CHECK(result.exit_code == 4);
  CHECK(result.err.find("password authentication failed") != std::string::npos);
  CHECK(result.err.find("not retried") != std::string::npos);
  CHECK(result.err.find("Wr0ng-pa55word") == std::string::npos);
  CHECK(result.elapsed < 10s);
}

TEST_CASE("--help lists every setting with its variable and default; --version prints the version") {
  const auto help = test::run({{"--help"}, {}});
  CHECK(help.exit_code == 0);
  for (const char* expected : {"--auto-migrate[=BOOL]  AUTO_MIGRATE (default true)",
                               "--fail-on-error[=BOOL]  AUTO_MIGRATE_FAIL_ON_ERROR (default false)",
                               "--database-url=VALUE  DATABASE_URL (default libpq's PG* variables)",
                               "--dir=VALUE  AUTO_MIGRATE_DIR (default ./migrations)",
                               "--table=VALUE  AUTO_MIGRATE_TABLE (default schema_migrations)",
                               "--wait=VALUE  AUTO_MIGRATE_WAIT (default 30)",
                               "--lock-timeout=VALUE  AUTO_MIGRATE_LOCK_TIMEOUT (default 300)",
                               "--lock-key=VALUE  AUTO_MIGRATE_LOCK_KEY (default derived)",
                               "--mode=VALUE  AUTO_MIGRATE_MODE (default auto)",
                               "--db-lock-timeout=VALUE  AUTO_MIGRATE_DB_LOCK_TIMEOUT (default 5)"}) {
    CAPTURE(expected);
    CHECK(help.out.find(expected) != std::string::npos);
  }
  const auto version = test::run({{"--version"}, {}});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("migrate-init ", 0) == 0);
}

// Bad input, as listed in docs/bad-input.md: URLs and credentials, directory states,
// database states not covered above.

TEST_CASE("Malformed URLs are usage errors naming the variable, flag or file, and never print the password") {
  struct Case {
    std::map<std::string, std::string> env;
    std::vector<std::string> args;
    std::string expected;
  };
  test::TempDir secrets;
  const auto bad_file = secrets.write("url", "host=db password=topsecret-value bogus\n");
  for (const Case& bad : {
           Case{{{"DATABASE_URL", "mysql://app:topsecret-value@db/app"}},
                {"migrate"},
                "DATABASE_URL is not a valid PostgreSQL URI or conninfo: missing \"=\" after \"****\" in connection info string"},
           Case{{{"DATABASE_URL", "postgresql://app:topsecret-value@db/app?foo=bar"}},
                {"migrate"},
                "DATABASE_URL is not a valid PostgreSQL URI or conninfo: invalid URI query parameter: \"foo\""},
           Case{{{"AUTO_MIGRATE_DATABASE_URL", "postgres://u:topsecret-value@h:5432/db?x=1"}},
                {"migrate"},
                "AUTO_MIGRATE_DATABASE_URL is not a valid PostgreSQL URI or conninfo: invalid URI query parameter: \"x\""},
           Case{{},
                {"migrate", "--database-url", "host=db password=topsecret-value bogus"},
                // "bogus" may be the rest of an unquoted password: libpq's quote of it is masked.
                "--database-url is not a valid PostgreSQL URI or conninfo: missing \"=\" after \"****\""},
           Case{{{"DATABASE_URL_FILE", bad_file.string()}},
                {"migrate"},
                "DATABASE_URL_FILE (" + bad_file.string() + ") is not a valid PostgreSQL URI or conninfo"},
       }) {
    CAPTURE(bad.expected);
    auto env = bad.env;
    env["AUTO_MIGRATE_DIR"] = test::example_migrations().string();
    const auto result = test::run({bad.args, env});
    CHECK(result.exit_code == 2);
    CHECK(result.err.find(bad.expected) != std::string::npos);
    CHECK(result.err.find("topsecret") == std::string::npos);
    CHECK(test::count(result.err, "\n") == 1); // one line: no summary after a usage error
    CHECK(result.elapsed < 5s);                // refused before any connection attempt
  }
}

TEST_CASE("An empty secret file is a usage error naming the variable and the path") {
  test::TempDir secrets;
  const auto empty = secrets.write("url", "\n");
  const auto result = test::run({{"--", "echo", "service-ran"}, {{"DATABASE_URL_FILE", empty.string()}}});
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK(result.err.find("DATABASE_URL_FILE (" + empty.string() + "): the file is empty") != std::string::npos);
}

// libpq quotes the bad token, here the password as written, in its message.
TEST_CASE("A bad percent-encoding in the password is refused without printing the password") {
  const auto result = test::run({{"migrate"}, {{"DATABASE_URL", "postgresql://app:top%zzsecret@db/app"}}});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("invalid percent-encoded token") != std::string::npos);
  CHECK(result.err.find("zzsecret") == std::string::npos);
}

// libpq checks option values only when connecting (exit 4 then): migrate-init checks
// them with the URL, as README promises exit 2 for a malformed URL.
TEST_CASE("A bad port or sslmode in the URL is a usage error (exit 2)") {
  for (const char* url : {"postgresql://app:topsecret-value@127.0.0.1:abc/app",
                          "postgresql://app:topsecret-value@127.0.0.1/app?sslmode=sometimes"}) {
    const std::string shown = url;
    CAPTURE(shown);
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_WAIT", "1"}}});
    CHECK(result.exit_code == 2);
    CHECK(result.err.find("DATABASE_URL") != std::string::npos);
    CHECK(result.err.find("topsecret") == std::string::npos);
  }
}

TEST_CASE("Refused connections fail at once with exit 4 and never print the password") {
  const std::string db = shared_server().create_database();
  const std::string host = "127.0.0.1:" + std::to_string(shared_server().port());
  const std::string password = test::PgServer::k_password;
  struct Case {
    std::map<std::string, std::string> env;
    std::string expected;
  };
  for (const Case& bad : {
           Case{{{"DATABASE_URL", "postgresql://postgres:" + password + "@" + host + "/no_such_db"}},
                "FATAL:  database \"no_such_db\" does not exist (not retried: check DATABASE_URL)"},
           Case{{{"DATABASE_URL", "postgresql://postgres@" + host + "/" + db}},
                "fe_sendauth: no password supplied (not retried: check DATABASE_URL)"},
           Case{{{"DATABASE_URL", "postgresql://postgres@" + host + "/" + db}, {"PGPASSWORD", "Wr0ng-pa55word"}},
                "password authentication failed for user \"postgres\" (not retried: check DATABASE_URL)"},
           Case{{{"DATABASE_URL", "host=127.0.0.1 port=" + std::to_string(shared_server().port()) +
                                      " user=postgres password=Wr0ng-pa55word dbname=" + db}},
                "password authentication failed for user \"postgres\" (not retried: check DATABASE_URL)"},
           // PostgreSQL does not tell an unknown role from a wrong password.
           Case{{{"DATABASE_URL", "postgresql://no_such_role:Wr0ng-pa55word@" + host + "/" + db}},
                "password authentication failed for user \"no_such_role\" (not retried: check DATABASE_URL)"},
           Case{{{"AUTO_MIGRATE_DATABASE_URL", "postgresql://postgres:Wr0ng-pa55word@" + host + "/" + db}},
                "password authentication failed for user \"postgres\" (not retried: check AUTO_MIGRATE_DATABASE_URL)"},
       }) {
    CAPTURE(bad.expected);
    auto env = bad.env;
    env["AUTO_MIGRATE_DIR"] = test::example_migrations().string();
    env["AUTO_MIGRATE_FAIL_ON_ERROR"] = "true";
    const auto result = test::run({{"--", "echo", "service-ran"}, env});
    CHECK(result.exit_code == 4);
    CHECK(result.out.empty());
    CHECK(result.err.find("error: cannot connect to the database: ") != std::string::npos);
    CHECK(result.err.find(bad.expected) != std::string::npos);
    CHECK(result.err.find("Wr0ng-pa55word") == std::string::npos);
    CHECK(result.err.find(password) == std::string::npos);
    CHECK(result.elapsed < 10s);
  }
  CHECK_FALSE(table_exists(db, "schema_migrations"));
}

TEST_CASE("More directory states: a file as the directory, a dangling symlink, a directory named *.sql") {
  const std::string unreachable = "postgresql://u:p@127.0.0.1:" + std::to_string(test::free_port()) + "/db";
  SUBCASE("AUTO_MIGRATE_DIR names a file") {
    test::TempDir dir;
    const auto file = dir.write("001_a.sql", "SELECT 1;");
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", file.string()}}});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("migrations directory " + file.string() + " is not a directory") != std::string::npos);
    CHECK(result.elapsed < 5s);
  }
  SUBCASE("AUTO_MIGRATE_DIR is a dangling symlink") {
    test::TempDir dir;
    const auto link = dir.path() / "migrations";
    std::filesystem::create_symlink("/no/such/target", link);
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", link.string()}}});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("migrations directory " + link.string() + " does not exist (set AUTO_MIGRATE_DIR or --dir)") !=
          std::string::npos);
  }
  SUBCASE("a migration that is a dangling symlink stops everything before connecting") {
    test::TempDir dir;
    dir.write("001_a.sql", "SELECT 1;");
    std::filesystem::create_symlink("/no/such/file.sql", dir.path() / "002_gone.sql");
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", dir.path()}}});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("cannot read migration " + (dir.path() / "002_gone.sql").string() + ": No such file or directory") !=
          std::string::npos);
    CHECK(result.elapsed < 5s);
  }
  SUBCASE("an unreadable migration file") {
    if (geteuid() == 0) return; // root reads everything; the dangling symlink above takes the same path
    test::TempDir dir;
    const auto file = dir.write("001_a.sql", "SELECT 1;");
    chmod(file.c_str(), 0);
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", dir.path()}}});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("cannot read migration " + file.string() + ": Permission denied") != std::string::npos);
  }
  SUBCASE("a directory named like a migration is ignored, and a symlinked directory is followed") {
    const std::string db = shared_server().create_database();
    test::TempDir dir;
    dir.write("real/001_a.sql", "CREATE TABLE a (id int);");
    std::filesystem::create_directories(dir.path() / "real" / "002_folder.sql");
    std::filesystem::create_symlink(dir.path() / "real", dir.path() / "linked");
    const auto result = test::run({{"migrate"}, env_for(db, dir.path() / "linked")});
    CHECK(result.exit_code == 0);
    CHECK(ledger_versions(db) == "001");
    CHECK(result.err.find("002_folder") == std::string::npos); // quietly, as any subdirectory
  }
}

// Opening a FIFO named like a migration would block for ever, with stop signals already
// taken over (only SIGKILL would end it).
TEST_CASE("A FIFO named like a migration is refused instead of blocking") {
  test::TempDir dir;
  dir.write("001_a.sql", "SELECT 1;");
  REQUIRE(mkfifo((dir.path() / "002_fifo.sql").c_str(), 0600) == 0);
  const std::string unreachable = "postgresql://u:p@127.0.0.1:" + std::to_string(test::free_port()) + "/db";
  const auto result = test::run({{"migrate"}, {{"DATABASE_URL", unreachable}, {"AUTO_MIGRATE_DIR", dir.path()}}}, 5s);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("002_fifo.sql") != std::string::npos);
}

TEST_CASE("A role that may not create the ledger fails with exit 1, applying nothing and printing no password") {
  const std::string db = shared_server().create_database();
  const std::string role = "no_create_" + db;
  const std::string role_password = "r0le-Secret-pw";
  shared_server().query(db, "CREATE ROLE " + role + " LOGIN PASSWORD '" + role_password + "'");
  const std::string url = "postgresql://" + role + ":" + role_password + "@127.0.0.1:" +
                          std::to_string(shared_server().port()) + "/" + db;
  test::TempDir dir;
  dir.write("001_a.sql", "CREATE TABLE a (id int);");

  SUBCASE("in public") {
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", dir.path()}}});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("error: creating the ledger schema_migrations: ERROR: permission denied for schema public") != std::string::npos);
    CHECK(result.err.find(role_password) == std::string::npos);
  }
  SUBCASE("in its own schema") {
    const auto result = test::run(
        {{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", dir.path()}, {"AUTO_MIGRATE_TABLE", "ops.ledger"}}});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("error: creating the ledger ops.ledger: ERROR: permission denied for database " + db) != std::string::npos);
    CHECK(result.err.find(role_password) == std::string::npos);
  }
  SUBCASE("a ledger it may not read") {
    shared_server().query(db, "CREATE TABLE schema_migrations (version text PRIMARY KEY); GRANT CREATE ON SCHEMA public TO " +
                                  role);
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", dir.path()}}});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("error: reading the ledger schema_migrations: ERROR: permission denied for table schema_migrations") != std::string::npos);
    CHECK(result.err.find(role_password) == std::string::npos);
    CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations") == "0");
    shared_server().query(db, "DROP TABLE schema_migrations");
  }
  CHECK_FALSE(table_exists(db, "schema_migrations"));
  CHECK_FALSE(table_exists(db, "a"));
}

TEST_CASE("A failing AUTO_MIGRATE_SCHEMAS_QUERY fails with exit 1 and the server's error") {
  const std::string db = shared_server().create_database();
  const auto result = test::run({{"--", "echo", "service-ran"},
                                 {{"DATABASE_URL", shared_server().url(db)},
                                  {"AUTO_MIGRATE_DIR", test::example_migrations().string()},
                                  {"AUTO_MIGRATE_SCHEMAS_QUERY", "SELECT nspname FROM nowhere"},
                                  {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}}});
  CHECK(result.exit_code == 1);
  CHECK(result.out.empty());
  CHECK(result.err.find("error: AUTO_MIGRATE_SCHEMAS_QUERY failed: ERROR: relation \"nowhere\" does not exist") != std::string::npos);
  CHECK_FALSE(table_exists(db, "schema_migrations"));
}

TEST_CASE("Without DATABASE_URL libpq's PG* variables are used; a missing socket or host is waited for, then exit 4") {
  test::TempDir empty;
  SUBCASE("no URL, PGHOST names a directory without a socket") {
    const auto result = test::run({{"migrate"},
                                   {{"PGHOST", empty.path().string()},
                                    {"AUTO_MIGRATE_WAIT", "0"},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()}}});
    CHECK(result.exit_code == 4);
    CHECK(result.err.find("error: database not reachable after 1 attempt in ") != std::string::npos);
    CHECK(result.err.find("(AUTO_MIGRATE_WAIT is 0 s): connection to server on socket \"" + empty.path().string() +
                          "/.s.PGSQL.5432\" failed: No such file or directory") != std::string::npos);
  }
  SUBCASE("a host name that does not resolve") {
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", "postgresql://app:topsecret-value@no-such-host.invalid/app"},
                                    {"AUTO_MIGRATE_WAIT", "1"},
                                    {"AUTO_MIGRATE_DIR", test::example_migrations().string()}}});
    CHECK(result.exit_code == 4);
    CHECK(result.err.find("(AUTO_MIGRATE_WAIT is 1 s): could not translate host name \"no-such-host.invalid\" to address") !=
          std::string::npos);
    CHECK(result.err.find("topsecret") == std::string::npos);
  }
}
