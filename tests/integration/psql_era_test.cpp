// A migration set written for `psql -f` (tests/fixtures/psql_era: BEGIN/COMMIT in the
// middle of files, verification SELECTs, self-recording INSERTs, a DO block, an unmarked
// CREATE INDEX CONCURRENTLY file, \set ON_ERROR_STOP on) run unchanged by the built binary.
#include "binary.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

using namespace std::chrono_literals;
using test::shared_server;

namespace {

std::filesystem::path fixture() {
  return test::example_migrations().parent_path() / "tests" / "fixtures" / "psql_era";
}

std::vector<std::filesystem::path> fixture_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(fixture())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::map<std::string, std::string> env_for(const std::string& database) {
  return {{"DATABASE_URL", shared_server().url(database)}, {"AUTO_MIGRATE_DIR", fixture().string()}};
}

// Runs a shell command with the server's password in its environment; returns its exit code.
int shell(const std::string& command) {
  const std::string full = "PGPASSWORD='" + std::string(test::PgServer::k_password) + "' " + command;
  return std::system(full.c_str());
}

// What the old shell script did: psql -f each file in turn, stopping at the first error.
void apply_with_psql(const std::string& database, std::size_t count) {
  const auto files = fixture_files();
  for (std::size_t i = 0; i < count && i < files.size(); ++i) {
    REQUIRE(shell("psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + std::to_string(shared_server().port()) +
                  " -U postgres -d " + database + " -f " + files[i].string() + " >/dev/null") == 0);
  }
}

// The schema, ledger left out, as pg_dump --schema-only prints it.
std::string schema_of(const std::string& database) {
  test::TempDir dir;
  const auto out = dir.path() / "schema.sql";
  REQUIRE(shell("pg_dump --schema-only --no-owner -T schema_migrations -h 127.0.0.1 -p " +
                std::to_string(shared_server().port()) + " -U postgres " + database + " > " + out.string()) == 0);
  std::ifstream in(out);
  std::string text;
  // pg_dump's \restrict and \unrestrict lines carry a random key each time.
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("\\restrict ", 0) != 0 && line.rfind("\\unrestrict ", 0) != 0) text += line + "\n";
  }
  REQUIRE(text.find("CREATE TABLE public.orders") != std::string::npos);
  return text;
}

const char* const k_all_ids = "000_migrations_ledger,001_users,002_orders,003_order_state,004_orders_user_index,"
                              "005_backfill_email,006_your_feature";

std::string ids(const std::string& database) {
  return shared_server().scalar(database, "SELECT string_agg(id, ',' ORDER BY id) FROM schema_migrations");
}

} // namespace

TEST_CASE("A psql-era set applies unchanged to a fresh database, with the schema psql -f gives and one row per file") {
  const std::string by_psql = shared_server().create_database();
  apply_with_psql(by_psql, 100);
  const std::string db = shared_server().create_database();
  const auto result = test::run({{"migrate"}, env_for(db)});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(schema_of(db) == schema_of(by_psql));
  // The application's own boot check keeps working, exactly as on a psql-migrated database.
  CHECK(ids(db) == k_all_ids);
  CHECK(ids(by_psql) == k_all_ids);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations WHERE applied_at IS NOT NULL AND "
                                   "state = 'applied' AND version IS NOT NULL AND checksum IS NOT NULL") == "7");
  CHECK(result.err.find("004_orders_user_index.sql runs outside a transaction: CREATE INDEX CONCURRENTLY at line 3") !=
        std::string::npos);
  CHECK(result.err.find("error") == std::string::npos);
  CHECK(shared_server().scalar(db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_user_id_idx'::regclass") ==
        "t");
  const auto verify = test::run({{"verify"}, env_for(db)});
  CHECK(verify.exit_code == 0);
}

TEST_CASE("A database the psql script half migrated is adopted: the rest applied once, then nothing") {
  const std::string db = shared_server().create_database();
  apply_with_psql(db, 3); // 000, 001, 002: rows written by the files themselves
  const auto result = test::run({{"migrate"}, env_for(db)});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.err.find("summary: applied 4 of 7 migrations (3 already applied)") != std::string::npos);
  CHECK(ids(db) == k_all_ids);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations") == "7");
  const auto again = test::run({{"migrate"}, env_for(db)});
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("database is up to date (7 migrations)") != std::string::npos);
  CHECK(test::run({{"verify"}, env_for(db)}).exit_code == 0);
  auto required = env_for(db);
  required["AUTO_MIGRATE"] = "false";
  required["AUTO_MIGRATE_REQUIRED"] = "001_users,006_your_feature";
  const auto boot = test::run({{"--", "echo", "service-ran"}, required});
  CHECK(boot.exit_code == 0);
  CHECK(boot.out == "service-ran\n");
}

TEST_CASE("plan says how each psql-era file will run, and why") {
  const std::string db = shared_server().create_database();
  const auto plan = test::run({{"plan"}, env_for(db)});
  CHECK(plan.exit_code == 0);
  CHECK(plan.out.find("004_orders_user_index.sql  ") != std::string::npos);
  CHECK(plan.out.find("no-transaction (CREATE INDEX CONCURRENTLY at line 3 cannot run in a transaction)") !=
        std::string::npos);
  CHECK(test::count(plan.out, "transaction (in one transaction with its ledger row; its own BEGIN/COMMIT dropped)") == 6);
  const auto json = test::run({{"plan", "--json"}, env_for(db)});
  CHECK(json.out.find("\"why\":\"CREATE INDEX CONCURRENTLY at line 3 cannot run in a transaction\"") != std::string::npos);
}

TEST_CASE("16 replicas at once on a fresh database apply each psql-era file once, and all start") {
  const std::string db = shared_server().create_database();
  std::vector<test::Running> replicas;
  for (int i = 0; i < 16; ++i) replicas.emplace_back(test::Invocation({"--", "echo", "started"}, env_for(db)));
  int started = 0;
  for (auto& replica : replicas) {
    const auto result = replica.wait(120s);
    CHECK(result.exit_code == 0);
    CHECK(result.err.find(" error: ") == std::string::npos);
    started += result.out == "started\n";
  }
  CHECK(started == 16);
  CHECK(ids(db) == k_all_ids);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations") == "7");
}

TEST_CASE("kill -9 at random moments of a psql-era run: the ledger and the schema agree, and the next start completes") {
  std::mt19937 random(20261201);
  for (int trial = 0; trial < 6; ++trial) {
    CAPTURE(trial);
    const std::string db = shared_server().create_database();
    {
      test::Running running({{"migrate"}, env_for(db)});
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 250)(random)));
      running.signal(SIGKILL);
      running.wait(20s);
    }
    // Whatever got recorded is there in full, and nothing unrecorded is (a transactional
    // file is its row); an interrupted no-transaction file resumes.
    const bool has_ledger = shared_server().scalar(db, "SELECT to_regclass('schema_migrations') IS NOT NULL") == "t";
    const std::string recorded =
        has_ledger ? shared_server().scalar(db, "SELECT coalesce(string_agg(id, ',' ORDER BY id), '') FROM "
                                                "(SELECT id FROM schema_migrations WHERE state = 'applied') AS r")
                   : "";
    CHECK((recorded.find("002_orders") != std::string::npos) ==
          (shared_server().scalar(db, "SELECT to_regclass('orders') IS NOT NULL") == "t"));
    CHECK((recorded.find("006_your_feature") != std::string::npos) ==
          (shared_server().scalar(db, "SELECT to_regclass('features') IS NOT NULL") == "t"));
    const bool unfinished =
        has_ledger && shared_server().scalar(db, "SELECT count(*) FROM schema_migrations WHERE state <> 'applied'") != "0";
    if (unfinished) REQUIRE(test::run({{"repair", "4", "--retry"}, env_for(db)}).exit_code == 0);
    const auto next = test::run({{"migrate"}, env_for(db)});
    INFO(next.err);
    CHECK(next.exit_code == 0);
    CHECK(ids(db) == k_all_ids);
    CHECK(test::run({{"verify"}, env_for(db)}).exit_code == 0);
  }
}

TEST_CASE("A no-transaction file's self-recording INSERT without ON CONFLICT is refused before anything runs") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  dir.write("000_ledger.sql", "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at "
                              "TIMESTAMPTZ NOT NULL DEFAULT now());\n");
  dir.write("001_t.sql", "CREATE TABLE t (a int);\nINSERT INTO schema_migrations (id) VALUES ('001_t');\n");
  dir.write("002_idx.sql", "CREATE INDEX CONCURRENTLY t_a ON t (a);\n\nINSERT INTO schema_migrations (id) VALUES ('002_idx');\n");
  const auto result = test::run({{"migrate"}, {{"DATABASE_URL", shared_server().url(db)},
                                               {"AUTO_MIGRATE_DIR", dir.path().string()}}});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("error: 002_idx.sql:3: this file runs outside a transaction and records itself in "
                        "schema_migrations without ON CONFLICT") != std::string::npos);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('t') IS NULL") == "t"); // 000 and 001 did not run either
  // In a transactional file the same plain INSERT works: the file's row comes first.
  dir.write("002_idx.sql", "CREATE INDEX t_a ON t (a);\nINSERT INTO schema_migrations (id) VALUES ('002_idx');\n");
  const auto fixed = test::run({{"migrate"}, {{"DATABASE_URL", shared_server().url(db)},
                                              {"AUTO_MIGRATE_DIR", dir.path().string()}}});
  CHECK(fixed.exit_code == 0);
  CHECK(ids(db) == "000_ledger,001_t,002_idx");
}

TEST_CASE("A file with an unclosed parenthesis before its COMMIT is refused at start-up, naming the parenthesis") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  dir.write("005_customers.sql", "CREATE TABLE customers (id int);\n");
  dir.write("006_customer_phone.sql", "BEGIN;\nALTER TABLE customers\n  ADD COLUMN phone text;\n"
                                      "CREATE INDEX customers_phone ON customers (phone;\nCOMMIT;\n");
  const auto result = test::run({{"migrate"}, {{"DATABASE_URL", shared_server().url(db)},
                                               {"AUTO_MIGRATE_DIR", dir.path().string()}}});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("error: 006_customer_phone.sql:4: unbalanced parenthesis: the \"(\" opened on line 4 is never "
                        "closed, so the COMMIT on line 5 is read as part of the statement\n") != std::string::npos);
  CHECK(result.err.find("BEGIN with no COMMIT") == std::string::npos);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('customers') IS NULL") == "t"); // refused before 005 ran
}

namespace {

// The fixture copied to a directory a test may edit.
std::unique_ptr<test::TempDir> fixture_copy() {
  auto dir = std::make_unique<test::TempDir>();
  for (const auto& file : fixture_files()) std::filesystem::copy_file(file, dir->path() / file.filename());
  return dir;
}

std::map<std::string, std::string> env_with_dir(const std::string& database, const test::TempDir& dir) {
  return {{"DATABASE_URL", shared_server().url(database)}, {"AUTO_MIGRATE_DIR", dir.path().string()}};
}

} // namespace

TEST_CASE("Committed but not recorded: repair VERSION --applied records a pending psql-era file with its checksum") {
  // The old script died between 003's COMMIT and its self-recording INSERT.
  const std::string db = shared_server().create_database();
  apply_with_psql(db, 4);
  shared_server().query(db, "DELETE FROM schema_migrations WHERE id = '003_order_state'");
  REQUIRE(ids(db) == "000_migrations_ledger,001_users,002_orders");

  // A baseline on such a non-empty ledger is not silently ignored: one warning says why,
  // and what to run instead.
  {
    const std::string other = shared_server().create_database();
    apply_with_psql(other, 4);
    shared_server().query(other, "DELETE FROM schema_migrations WHERE id = '003_order_state'");
    auto env = env_for(other);
    env["AUTO_MIGRATE_BASELINE"] = "003";
    const auto ignored = test::run({{"migrate"}, env});
    INFO(ignored.err);
    CHECK(ignored.exit_code == 0);
    CHECK(test::count(ignored.err, "AUTO_MIGRATE_BASELINE") == 1);
    CHECK(ignored.err.find("warning: AUTO_MIGRATE_BASELINE=003 ignored: the ledger schema_migrations is not empty "
                           "(3 rows), and a baseline is recorded only on an empty ledger; 003_order_state has no "
                           "row: if it ran outside migrate-init, record it with `migrate-init repair 003 --applied` "
                           "(otherwise it runs as pending)\n") != std::string::npos);
    CHECK(ids(other) == k_all_ids); // 003 ran again (it is idempotent), as the warning said
    const auto done = test::run({{"migrate"}, env});
    CHECK(done.err.find("info: AUTO_MIGRATE_BASELINE=003: nothing to record, every file up to 003 is in the ledger "
                        "already (the setting can be removed)\n") != std::string::npos);
    CHECK(done.err.find("warning") == std::string::npos);
  }

  const auto repaired = test::run({{"repair", "003", "--applied"}, env_for(db)});
  INFO(repaired.err);
  CHECK(repaired.exit_code == 0);
  CHECK(repaired.err.find("info: recorded 003_order_state as applied without running it (checksum ") !=
        std::string::npos);
  CHECK(ids(db) == "000_migrations_ledger,001_users,002_orders,003_order_state");
  const std::string file_checksum = [&] {
    const auto status = test::run({{"status", "--json"}, env_for(db)});
    const auto at = status.out.find("\"version\":\"003\"");
    REQUIRE(at != std::string::npos);
    const auto field = status.out.find("\"checksum\":\"", at);
    REQUIRE(field != std::string::npos);
    return status.out.substr(field + 12, 64);
  }();
  CHECK(shared_server().scalar(db, "SELECT checksum || ' ' || state FROM schema_migrations WHERE id = "
                                   "'003_order_state'") == file_checksum + " applied");
  CHECK(repaired.err.find(file_checksum) != std::string::npos);

  const auto again = test::run({{"repair", "3", "--applied"}, env_for(db)});
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("migration 003_order_state is already applied; nothing to repair") != std::string::npos);
  const auto no_file = test::run({{"repair", "042", "--applied"}, env_for(db)});
  CHECK(no_file.exit_code == 2);
  CHECK(no_file.err.find("error: repair: the ledger has no migration with version 042, and no file in " +
                         fixture().string() + " has that version\n") != std::string::npos);
  const auto retry_pending = test::run({{"repair", "004", "--retry"}, env_for(db)});
  CHECK(retry_pending.exit_code == 2);
  CHECK(retry_pending.err.find("error: repair --retry: 004_orders_user_index is pending, not unfinished: "
                               "`migrate-init migrate` applies it") != std::string::npos);

  // 003 is not run again; the rest are applied.
  const auto rest = test::run({{"migrate"}, env_for(db)});
  INFO(rest.err);
  CHECK(rest.exit_code == 0);
  CHECK(rest.err.find("summary: applied 3 of 7 migrations (4 already applied)") != std::string::npos);
  CHECK(ids(db) == k_all_ids);
}

TEST_CASE("Rows the psql script wrote have no checksum: verify and status name them; repair --checksums records them") {
  const std::string db = shared_server().create_database();
  apply_with_psql(db, 3); // 000, 001, 002: rows with no checksum
  const auto dir = fixture_copy();
  const auto env = env_with_dir(db, *dir);
  REQUIRE(test::run({{"migrate"}, env}).exit_code == 0);

  const auto verify = test::run({{"verify"}, env});
  INFO(verify.out);
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("ok: the database matches") == std::string::npos);
  CHECK(verify.out.find("warning: 000_migrations_ledger, 001_users, 002_orders cannot be checked for changes: their "
                        "ledger rows have no checksum") != std::string::npos);
  CHECK(verify.out.find("`migrate-init repair --checksums`") != std::string::npos);
  CHECK(verify.out.find("ok: every migration file is applied; 3 of the 7 (000, 001, 002) cannot be checked for "
                        "changes\n") != std::string::npos);
  const auto verify_json = test::run({{"verify", "--json"}, env});
  CHECK(verify_json.out.find("\"unchecked\":[\"000\",\"001\",\"002\"]") != std::string::npos);

  const auto status = test::run({{"status"}, env});
  CHECK(test::count(status.out, "(no checksum: changes cannot be detected)") == 3);
  const auto status_json = test::run({{"status", "--json"}, env});
  CHECK(test::count(status_json.out, "\"unchecked\":true") == 3);
  CHECK(test::count(status_json.out, "\"unchecked\":false") == 4);

  // The files here are the ones the rows were applied from: record their checksums.
  const auto recorded = test::run({{"repair", "--checksums"}, env});
  INFO(recorded.err);
  CHECK(recorded.exit_code == 0);
  CHECK(recorded.err.find("info: recorded the checksums of 3 migrations that had none, from the files here: "
                          "000_migrations_ledger, 001_users, 002_orders\n") != std::string::npos);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations WHERE checksum IS NULL") == "0");
  const auto clean = test::run({{"verify"}, env});
  CHECK(clean.exit_code == 0);
  CHECK(clean.out == "ok: the database matches the 7 migration files\n");

  // An edit to historical file 001 is now caught, and repair --checksums never overwrites.
  const std::string before = shared_server().scalar(db, "SELECT checksum FROM schema_migrations WHERE version = '001'");
  std::ofstream(dir->path() / "001_users.sql", std::ios::app) << "ALTER TABLE users ADD COLUMN nickname text;\n";
  const auto drift = test::run({{"verify"}, env});
  CHECK(drift.exit_code == 5);
  CHECK(drift.out.find("problem: 001_users.sql changed after it was applied") != std::string::npos);
  const auto nothing = test::run({{"repair", "--checksums"}, env});
  CHECK(nothing.exit_code == 0);
  CHECK(nothing.err.find("info: every applied migration has a checksum already; nothing to record\n") !=
        std::string::npos);
  CHECK(shared_server().scalar(db, "SELECT checksum FROM schema_migrations WHERE version = '001'") == before);
}
