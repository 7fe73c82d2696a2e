// Command mode (issue 12): the project's own migrator (Alembic, Flask-Migrate, Knex) run by the
// built binary under the lock, with the real tools from Debian's packages and npm. Each test
// works on a private copy of a fixture in tests/fixtures; a wrapper script in front of the
// migrator records every start, what the migrator was given, and then becomes it (exec).
#include "command_project.hpp"

#include <doctest/doctest.h>

#include <libpq-fe.h>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace test;

namespace {

const char* const k_alembic_head = "6f3d8b5a1e47"; // tests/fixtures/alembic_project: the revision after the merge
const char* const k_flask_head = "9b52d1f4a3e6";
const std::vector<std::string> k_alembic_upgrade{"/usr/bin/python3", "-m", "alembic", "upgrade", "head"};

// Knex and pg come from npm (scripts/install-deps.sh --tests runs `npm ci` in the fixture).
void require_node_modules() {
  const fs::path modules = fixture_source("knex_project") / "node_modules";
  const bool installed = fs::exists(modules / "knex") && fs::exists(modules / "pg");
  REQUIRE_MESSAGE(installed,
                  modules.string() << " has no knex or pg: run `bash scripts/install-deps.sh --tests` (it runs "
                                      "`npm ci` in tests/fixtures/knex_project)");
}


// The Alembic fixture: AUTO_MIGRATE_DIR is its script_location, the migrator `alembic upgrade head`.
std::map<std::string, std::string> alembic_env(const Project& project, const std::string& db,
                                               const std::map<std::string, std::string>& extra = {}) {
  return with({{"DATABASE_URL", shared_server().url(db)},
               {"AUTO_MIGRATE_DIR", project.migrations().string()},
               {"AUTO_MIGRATE_COMMAND", project.command(k_alembic_upgrade)}},
              extra);
}

std::map<std::string, std::string> knex_env(const Project& project, const std::string& db,
                                            const std::vector<std::string>& migrator) {
  return {{"DATABASE_URL", shared_server().url(db)},
          {"AUTO_MIGRATE_DIR", project.migrations().string()},
          {"AUTO_MIGRATE_COMMAND", project.command(migrator)}};
}


std::string alembic_version(const std::string& db, const std::string& table = "alembic_version") {
  if (shared_server().scalar(db, "SELECT to_regclass('" + table + "') IS NULL") == "t") return "(no " + table + ")";
  return shared_server().scalar(db, "SELECT coalesce(string_agg(version_num, ',' ORDER BY version_num), '') FROM " +
                                        table);
}

// Backends of this database still running the slow revision's pg_sleep.

// A revision after the fixture's head that fails: the table it alters does not exist.
void add_failing_revision(const Project& project) {
  project.write("migrations/versions/7a4e9c6b2f58_broken.py",
                "\"\"\"broken\n\nRevision ID: 7a4e9c6b2f58\nRevises: 6f3d8b5a1e47\n\"\"\"\n"
                "from alembic import op\n\nrevision = '7a4e9c6b2f58'\ndown_revision = '6f3d8b5a1e47'\n"
                "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n"
                "    op.execute(\"ALTER TABLE no_such_table ADD COLUMN x int\")\n\n\n"
                "def downgrade() -> None:\n    pass\n");
}

// The psql fixture, "any command": AUTO_MIGRATE_DIR its migrations, the migrator its migrate.sh.
std::map<std::string, std::string> psql_env(const Project& project, const std::string& db,
                                            const std::map<std::string, std::string>& extra = {}) {
  return with({{"DATABASE_URL", shared_server().url(db)},
               {"AUTO_MIGRATE_DIR", project.migrations().string()},
               {"AUTO_MIGRATE_COMMAND", project.command({"/bin/sh", (project.root() / "migrate.sh").string()})}},
              extra);
}

// The schemas the recorded migrator starts were for, one per start.
std::multiset<std::string> started_schemas(const Project& project) {
  std::multiset<std::string> schemas;
  for (const auto& start : project.starts()) schemas.insert(start.substr(start.find(' ') + 1));
  return schemas;
}

// Whether `schema` holds what the fixture's migrator creates: the psql fixture's items, or
// the Alembic fixture's alembic_version at head.
bool migrated(const std::string& db, const std::string& schema, bool alembic) {
  if (alembic) return alembic_version(db, schema + ".alembic_version") == k_alembic_head;
  return shared_server().scalar(db, "SELECT to_regclass('" + schema + ".items') IS NOT NULL") == "t";
}

// Moves the fixture's migrations/ to `location` and writes its alembic.ini, saying
// `script_location = <location>`, to `ini_path` (both relative to the project's root).
void move_script_location(const Project& project, const std::string& location, const std::string& ini_path) {
  fs::create_directories((project.root() / location).parent_path());
  fs::create_directories((project.root() / ini_path).parent_path());
  fs::rename(project.migrations(), project.root() / location);
  std::string ini = read_file(project.root() / "alembic.ini");
  const auto at = ini.find("script_location = migrations");
  REQUIRE(at != std::string::npos);
  ini.replace(at, std::string("script_location = migrations").size(), "script_location = " + location);
  if (ini_path != "alembic.ini") fs::remove(project.root() / "alembic.ini");
  project.write(ini_path, ini);
}

// The first start runs the migrator to head; the second takes the fast path.
void check_migrates_once_then_fast_path(const Project& project, const std::map<std::string, std::string>& env,
                                        const std::string& db) {
  const auto first = test::run(service(project, env));
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(alembic_version(db) == k_alembic_head);
  const auto second = test::run(service(project, env));
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out == "started\n");
  CHECK(contains(second.err, "database is up to date"));
  CHECK(project.starts().size() == 1);
}

} // namespace

TEST_CASE("Alembic on a fresh database: every revision applied, alembic_version at head; the next start runs no "
          "migrator") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  const auto first = test::run(service(project, alembic_env(project, db)));
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(first.out == "started\n");
  CHECK(alembic_version(db) == k_alembic_head);
  CHECK(project.starts().size() == 1);
  // Both branches, their merge and the data migration ran.
  CHECK(shared_server().scalar(db, "SELECT name || ' ' || email || ' ' || plan FROM accounts") ==
        "fixture-admin admin@example.com free");
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM plans") == "2");
  CHECK(shared_server().scalar(db, "SELECT column_default FROM information_schema.columns WHERE table_name = "
                                   "'orders' AND column_name = 'status'") == "'new'::text");
  // The migrator's own output goes through migrate-init's log.
  CHECK(contains(first.err, "Running upgrade 5e2c7a4f9d16 -> 6f3d8b5a1e47"));
  CHECK(!logged_error(first.err));
  check_no_password(first);

  const auto second = test::run(service(project, alembic_env(project, db)));
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out == "started\n");
  CHECK(contains(second.err, "database is up to date"));
  CHECK(project.starts().size() == 1); // the fast path: no Python at all

  SUBCASE("AUTO_MIGRATE_FAST_PATH=off runs the migrator every time") {
    const auto always = test::run(service(project, alembic_env(project, db, {{"AUTO_MIGRATE_FAST_PATH", "off"}})));
    INFO(always.err);
    CHECK(always.exit_code == 0);
    CHECK(always.out == "started\n");
    CHECK(project.starts().size() == 2);
    CHECK(alembic_version(db) == k_alembic_head);
  }
  SUBCASE("240 revisions more, read on a thread while connecting: applied once, then the fast path; one more "
          "is pending again") {
    // Enough files for the thread (k_alembic_files_worth_a_thread); each does nothing.
    const auto revision_file = [&project](int number, const std::string& down) {
      const std::string id = "r" + std::to_string(10000 + number);
      project.write("migrations/versions/" + id + "_noop.py",
                    "revision = '" + id + "'\ndown_revision = '" + down + "'\nbranch_labels = None\n"
                    "depends_on = None\n\nfrom alembic import op\n\n\ndef upgrade() -> None:\n"
                    "    op.execute(\"SELECT 1\")\n\n\ndef downgrade() -> None:\n    pass\n");
      return id;
    };
    std::string head = k_alembic_head;
    for (int number = 1; number <= 240; ++number) head = revision_file(number, head);
    const auto env = alembic_env(project, db, {{"AUTO_MIGRATE_LOG_LEVEL", "debug"}});
    const auto applied = test::run(service(project, env));
    INFO(applied.err);
    CHECK(applied.exit_code == 0);
    CHECK(contains(applied.err, "Alembic revision files on a thread while connecting"));
    CHECK(alembic_version(db) == head);
    CHECK(project.starts().size() == 2);
    const auto fast = test::run(service(project, env));
    INFO(fast.err);
    CHECK(fast.exit_code == 0);
    CHECK(fast.out == "started\n");
    CHECK(contains(fast.err, "database is up to date (Alembic at head " + head + ")"));
    CHECK(project.starts().size() == 2);
    head = revision_file(241, head);
    const auto pending = test::run(service(project, env));
    INFO(pending.err);
    CHECK(pending.exit_code == 0);
    CHECK(project.starts().size() == 3);
    CHECK(alembic_version(db) == head);
  }
  SUBCASE("a new revision in the files is pending again: the migrator runs") {
    project.write("migrations/versions/7b5f0d7c3a69_accounts_note.py",
                  "revision = '7b5f0d7c3a69'\ndown_revision = '6f3d8b5a1e47'\nbranch_labels = None\n"
                  "depends_on = None\n\nfrom alembic import op\n\n\ndef upgrade() -> None:\n"
                  "    op.execute(\"ALTER TABLE accounts ADD COLUMN note text\")\n\n\n"
                  "def downgrade() -> None:\n    op.execute(\"ALTER TABLE accounts DROP COLUMN note\")\n");
    const auto third = test::run(service(project, alembic_env(project, db)));
    INFO(third.err);
    CHECK(third.exit_code == 0);
    CHECK(project.starts().size() == 2);
    CHECK(alembic_version(db) == "7b5f0d7c3a69");
  }
}

TEST_CASE("Command mode takes the .sql engine's lock key for the same ledger, and leaves a table of the ledger's name "
          "that another tool owns alone (golang-migrate's schema_migrations, with its dirty column)") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  SUBCASE("the ledger's name is free: the same key as the .sql engine's, which creates its ledger there") {
    TempDir sql_dir;
    std::ofstream(sql_dir.path() / "001_t.sql") << "CREATE TABLE sql_engine_ran (id int);\n";
    const auto sql_run = test::run(service(project, {{"DATABASE_URL", shared_server().url(db)},
                                                     {"AUTO_MIGRATE_DIR", sql_dir.path().string()}}));
    INFO(sql_run.err);
    REQUIRE(sql_run.exit_code == 0);
    const auto command_run = test::run(service(project, alembic_env(project, db)));
    INFO(command_run.err);
    CHECK(command_run.exit_code == 0);
    CHECK(project.starts().size() == 1);
    CHECK(!lock_key_logged(sql_run.err).empty());
    CHECK(lock_key_logged(command_run.err) == lock_key_logged(sql_run.err));
  }
  SUBCASE("golang-migrate's table under that name: the migrator runs, the table is untouched") {
    shared_server().query(db, "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); "
                              "INSERT INTO schema_migrations VALUES (20240101, false)");
    const auto result = test::run(service(project, with(alembic_env(project, db), {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}})));
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "started\n");
    CHECK(!contains(result.err, "golang-migrate"));
    CHECK(!lock_key_logged(result.err).empty());
    CHECK(alembic_version(db) == k_alembic_head);
    CHECK(shared_server().scalar(db, "SELECT string_agg(version || ' ' || dirty, ',') FROM schema_migrations") ==
          "20240101 false");
  }
}

TEST_CASE("Alembic found through ./alembic.ini's script_location, with no AUTO_MIGRATE_DIR") {
  const Project project("alembic_project");
  move_script_location(project, "db/alembic", "alembic.ini");
  const std::string db = shared_server().create_database();
  auto env = alembic_env(project, db);
  env.erase("AUTO_MIGRATE_DIR");
  check_migrates_once_then_fast_path(project, env, db);
}

TEST_CASE("conf/alembic.ini with a script_location relative to the working directory, run as `alembic -c "
          "conf/alembic.ini`: the next start takes the fast path") {
  const Project project("alembic_project");
  move_script_location(project, "h/migrations", "conf/alembic.ini");
  const std::string db = shared_server().create_database();
  auto env = with(alembic_env(project, db), {{"AUTO_MIGRATE_ALEMBIC_INI", "conf/alembic.ini"},
                                             {"AUTO_MIGRATE_COMMAND", project.command({"/usr/bin/python3", "-m", "alembic", "-c",
                                                                                       "conf/alembic.ini", "upgrade", "head"})}});
  env.erase("AUTO_MIGRATE_DIR");
  check_migrates_once_then_fast_path(project, env, db);
}

TEST_CASE("A schema-qualified AUTO_MIGRATE_ALEMBIC_VERSION_TABLE takes the fast path; JSON logs mark the "
          "migrator's lines") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  const auto env = alembic_env(project, db,
                               {{"ALEMBIC_SCHEMA", "billing"},
                                {"AUTO_MIGRATE_ALEMBIC_VERSION_TABLE", "billing.alembic_version"},
                                {"AUTO_MIGRATE_LOG_FORMAT", "json"}});
  const auto first = test::run(service(project, env));
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(alembic_version(db, "billing.alembic_version") == k_alembic_head);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('public.alembic_version') IS NULL") == "t");
  for (const auto& line : lines_of(first.err)) CHECK_MESSAGE(line.rfind("{\"", 0) == 0, line);
  CHECK(contains(first.err, "\"event\":\"migrator.output\""));
  CHECK(contains(first.err, "Running upgrade 5e2c7a4f9d16 -> 6f3d8b5a1e47"));
  check_no_password(first);

  const auto second = test::run(service(project, env));
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out == "started\n");
  CHECK(contains(second.err, "database is up to date"));
  CHECK(project.starts().size() == 1);
}

TEST_CASE("AUTO_MIGRATE_REQUIRED=all in command mode: a replica that does not migrate starts only once Alembic is at "
          "head") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  const auto waiting = alembic_env(project, db, {{"AUTO_MIGRATE", "false"}, {"AUTO_MIGRATE_REQUIRED", "all"}});
  const auto refused = test::run(service(project, waiting));
  INFO(refused.err);
  CHECK(refused.exit_code == 5);
  CHECK(refused.out.empty());
  CHECK(test::run(service(project, alembic_env(project, db))).exit_code == 0);
  const auto ready = test::run(service(project, waiting));
  CHECK(ready.exit_code == 0);
  CHECK(ready.out == "started\n");
  CHECK(project.starts().size() == 1);
}

TEST_CASE("Flask-Migrate: flask db upgrade (shell form, SQLAlchemy-style URL) applies both revisions; the next start "
          "runs no migrator") {
  const Project project("flask_app");
  const std::string db = shared_server().create_database();
  std::string url = shared_server().url(db);
  REQUIRE(url.rfind("postgresql://", 0) == 0);
  url.replace(0, std::string("postgresql://").size(), "postgresql+psycopg2://");
  // No AUTO_MIGRATE_DIR: ./migrations (the default) is what `flask db init` made.
  const std::map<std::string, std::string> env{
      {"DATABASE_URL", url},
      {"AUTO_MIGRATE_COMMAND", "FLASK_APP=app " + project.wrapper() + " /usr/bin/python3 -m flask db upgrade"}};
  const auto first = test::run(service(project, env));
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(first.out == "started\n");
  CHECK(alembic_version(db) == k_flask_head);
  CHECK(shared_server().scalar(db, "SELECT to_regclass('notes') IS NOT NULL AND to_regclass('users') IS NOT NULL") ==
        "t");
  CHECK(project.starts().size() == 1);
  // The migrator got the URL exactly as given, driver part included.
  const auto environment = project.migrator_environment(project.first_migrator_pid());
  CHECK(std::count(environment.begin(), environment.end(), "DATABASE_URL=" + url) == 1);
  CHECK(!logged_error(first.err));
  check_no_password(first);

  const auto second = test::run(service(project, env));
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out == "started\n");
  CHECK(contains(second.err, "database is up to date"));
  CHECK(project.starts().size() == 1);
}

TEST_CASE("Knex on a fresh database: npx knex migrate:latest runs once; a recorded success skips it until the files "
          "change") {
  require_node_modules();
  const Project project("knex_project");
  const std::string db = shared_server().create_database();
  const auto env = knex_env(project, db, {"npx", "knex", "migrate:latest"});
  const auto first = test::run(service(project, env));
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(first.out == "started\n");
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM knex_migrations") == "3");
  CHECK(shared_server().scalar(db, "SELECT name FROM teams") == "default");
  CHECK(project.starts().size() == 1);
  CHECK(!logged_error(first.err));
  check_no_password(first);

  const auto second = test::run(service(project, env));
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out == "started\n");
  CHECK(contains(second.err, "database is up to date"));
  CHECK(project.starts().size() == 1);

  project.write("migrations/20261201090300_add_team_slug.js",
                "exports.up = (knex) => knex.schema.alterTable(\"teams\", (table) => table.text(\"slug\"));\n"
                "exports.down = (knex) => knex.schema.alterTable(\"teams\", (table) => table.dropColumn(\"slug\"));\n");
  const auto third = test::run(service(project, env));
  INFO(third.err);
  CHECK(third.exit_code == 0);
  CHECK(project.starts().size() == 2);
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM knex_migrations") == "4");
}

TEST_CASE("16 replicas at once on a fresh database run the migrator exactly once, and every service starts") {
  std::unique_ptr<Project> project;
  std::map<std::string, std::string> env;
  const std::string db = shared_server().create_database();
  SUBCASE("Alembic") {
    project = std::make_unique<Project>("alembic_project");
    // A slow last revision keeps the holder busy while the others arrive.
    env = alembic_env(*project, db, {{"SLOW_MIGRATION_SECONDS", "1"}});
  }
  SUBCASE("Knex") {
    require_node_modules();
    project = std::make_unique<Project>("knex_project");
    env = knex_env(*project, db, {"node_modules/.bin/knex", "migrate:latest"});
  }
  std::vector<test::Running> replicas;
  for (int i = 0; i < 16; ++i) replicas.emplace_back(service(*project, env));
  int started = 0;
  for (auto& replica : replicas) {
    const auto result = replica.wait(90s);
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(!logged_error(result.err));
    check_no_password(result);
    started += result.out == "started\n";
  }
  CHECK(started == 16);
  CHECK(project->starts().size() == 1);
  if (env.count("SLOW_MIGRATION_SECONDS")) {
    CHECK(alembic_version(db) == k_alembic_head);
  } else {
    CHECK(shared_server().scalar(db, "SELECT count(*) FROM knex_migrations") == "3");
  }
  CHECK(advisory_locks(db) == "0");
}

TEST_CASE("Waiters woken by the holder: one with the holder's files trusts what it left, one with a newer revision "
          "runs its own migrator after it") {
  const Project old_image("alembic_project");
  const Project new_image("alembic_project");
  new_image.write("migrations/versions/8c5f1d7a3b69_order_notes.py",
                  "\"\"\"order notes\n\nRevision ID: 8c5f1d7a3b69\nRevises: 6f3d8b5a1e47\n\"\"\"\n"
                  "from alembic import op\n\nrevision = '8c5f1d7a3b69'\ndown_revision = '6f3d8b5a1e47'\n"
                  "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n"
                  "    op.execute(\"ALTER TABLE orders ADD COLUMN notes text\")\n\n\n"
                  "def downgrade() -> None:\n    pass\n");
  const std::string db = shared_server().create_database();
  const std::map<std::string, std::string> debug{{"AUTO_MIGRATE_LOG_LEVEL", "debug"}};
  // Long enough for both waiters to reach the lock while it is held, under CI's load and
  // the sanitizers too (with 3 s a waiter once found the holder done: no wait to log).
  test::Running holder(service(old_image, alembic_env(old_image, db, with(debug, {{"SLOW_MIGRATION_SECONDS", "8"}}))));
  REQUIRE_MESSAGE(eventually([&] { return sleeping_backends(db) == "1"; }, 30s), "the slow revision never ran");
  test::Running same_files(service(old_image, alembic_env(old_image, db, debug)));
  test::Running newer_files(service(new_image, alembic_env(new_image, db, debug)));
  // Logged once each is listening and knows the holder.
  REQUIRE(same_files.wait_for_log("waiting for the migration lock", 10s));
  REQUIRE(newer_files.wait_for_log("waiting for the migration lock", 10s));

  for (auto* replica : {&holder, &same_files, &newer_files}) {
    const auto result = replica->wait(60s);
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "started\n");
    CHECK(!logged_error(result.err));
    if (replica == &same_files) {
      CHECK(contains(result.err, "the lock holder left alembic_version at these files' heads (6f3d8b5a1e47)"));
      CHECK(contains(result.err, "another instance applied them"));
    }
    if (replica == &newer_files) {
      CHECK(!contains(result.err, "the lock holder left"));
      CHECK(contains(result.err, "the migrator is to run"));
    }
  }
  CHECK(old_image.starts().size() == 1); // the holder's; the replica with the same files ran none
  CHECK(new_image.starts().size() == 1);
  CHECK(alembic_version(db) == "8c5f1d7a3b69");
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' "
                                   "AND column_name = 'notes'") == "1");
  CHECK(advisory_locks(db) == "0");
}

TEST_CASE("Two services, each in its own schema, sharing AUTO_MIGRATE_LOCK_KEY: the one that waited is not told its "
          "schema is done by the other's release") {
  const Project first("alembic_project");
  const Project second("alembic_project");
  const std::string db = shared_server().create_database();
  bool schemas_exist = false;
  SUBCASE("the schemas exist before") { schemas_exist = true; }
  SUBCASE("each service's migrator creates its schema, first on its search_path before public") {}
  if (schemas_exist) shared_server().query(db, "CREATE SCHEMA svc_first; CREATE SCHEMA svc_second");
  // Each service's sessions look in its schema first (PGOPTIONS, read by libpq); its migrator
  // creates that schema and puts its tables and alembic_version there (the fixture's ALEMBIC_SCHEMA).
  const auto service_env = [&](const Project& project, const std::string& schema,
                               std::map<std::string, std::string> extra) {
    extra.insert({{"AUTO_MIGRATE_LOCK_KEY", "4242"}, {"AUTO_MIGRATE_LOG_LEVEL", "debug"},
                  {"PGOPTIONS", "-c search_path=" + schema + ",public"}, {"ALEMBIC_SCHEMA", schema}});
    return alembic_env(project, db, extra);
  };
  test::Running holder(service(first, service_env(first, "svc_first", {{"SLOW_MIGRATION_SECONDS", "8"}})));
  REQUIRE_MESSAGE(eventually([&] { return sleeping_backends(db) == "1"; }, 30s), "the slow revision never ran");
  test::Running waiter(service(second, service_env(second, "svc_second", {})));
  REQUIRE(waiter.wait_for_log("waiting for the migration lock", 10s));

  for (auto* replica : {&holder, &waiter}) {
    const auto result = replica->wait(60s);
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "started\n");
    CHECK(!logged_error(result.err));
    CHECK(!contains(result.err, "the lock holder left"));
  }
  CHECK(first.starts().size() == 1);
  CHECK(second.starts().size() == 1); // its own schema was still to migrate
  CHECK(alembic_version(db, "svc_first.alembic_version") == k_alembic_head);
  CHECK(alembic_version(db, "svc_second.alembic_version") == k_alembic_head);
}

TEST_CASE("A NOTIFY on the lock's channel is not believed from a session that does not hold the lock, nor from "
          "another role's that does") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  // What a holder of this project would say once alembic_version is at head.
  const std::string forged_release = std::string("NOTIFY migrate_init_4343, '[\"alembic\",\"public\",\"alembic_version\",\"") +
                                     k_alembic_head + "\"]'";
  shared_server().query(db, "DROP ROLE IF EXISTS cm_intruder; CREATE ROLE cm_intruder LOGIN PASSWORD 'intruder-pw'");
  std::string intruder_url = shared_server().url(db);
  intruder_url.replace(intruder_url.find("//") + 2, intruder_url.find('@') - intruder_url.find("//") - 2,
                       "cm_intruder:intruder-pw");
  std::unique_ptr<PGconn, decltype(&PQfinish)> intruder(PQconnectdb(intruder_url.c_str()), &PQfinish);
  REQUIRE(PQstatus(intruder.get()) == CONNECTION_OK);
  const auto intruder_exec = [&](const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(intruder.get(), sql.c_str()), &PQclear);
    REQUIRE_MESSAGE(PQresultStatus(result.get()) == PGRES_TUPLES_OK, PQerrorMessage(intruder.get()));
  };
  test::Session holder(shared_server(), db, "lock-holder");
  bool intruder_holds = false;
  SUBCASE("a session that never held the lock") { holder.exec("SELECT pg_advisory_lock(4343)"); }
  SUBCASE("another role's session that holds it, lets go and takes it again as it notifies") {
    intruder_holds = true;
    intruder_exec("SELECT pg_advisory_lock(4343)");
  }
  test::Running waiter(
      service(project, alembic_env(project, db, {{"AUTO_MIGRATE_LOCK_KEY", "4343"}, {"AUTO_MIGRATE_LOG_LEVEL", "debug"}})));
  REQUIRE(waiter.wait_for_log("waiting for the migration lock", 20s));
  if (intruder_holds) {
    // One message, one transaction: the NOTIFY is delivered at its commit, the lock held again by then.
    intruder_exec("SELECT pg_advisory_unlock(4343); " + forged_release + "; SELECT pg_advisory_lock(4343)");
  } else {
    intruder_exec(forged_release + "; SELECT 1");
  }
  CHECK_FALSE(waiter.wait_for_exit(1500ms).has_value()); // still waiting for the lock
  CHECK(project.starts().empty());
  if (intruder_holds) {
    intruder_exec("SELECT pg_advisory_unlock(4343)");
  } else {
    holder.exec("SELECT pg_advisory_unlock(4343)");
  }
  const auto result = waiter.wait(60s);
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out == "started\n");
  CHECK(!contains(result.err, "the lock holder left"));
  CHECK(project.starts().size() == 1);
  CHECK(alembic_version(db) == k_alembic_head);
}

TEST_CASE("A failing revision: exit 1 and no service with AUTO_MIGRATE_FAIL_ON_ERROR, else the failure logged and "
          "the service started; the lock released either way") {
  const Project project("alembic_project");
  add_failing_revision(project);
  const std::string db = shared_server().create_database();
  SUBCASE("AUTO_MIGRATE_FAIL_ON_ERROR=true") {
    const auto result = test::run(service(project, alembic_env(project, db, {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}})));
    INFO(result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.out.empty());
    // The migrator's last output lines, with its reason, are in the error.
    CHECK(contains(result.err, "relation \"no_such_table\" does not exist"));
    CHECK(lock_released(db));
    check_no_password(result);
  }
  SUBCASE("the default: the service starts anyway") {
    const auto result = test::run(service(project, alembic_env(project, db)));
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "started\n");
    CHECK(contains(result.err, "relation \"no_such_table\" does not exist"));
    CHECK(logged_error(result.err));
    CHECK(lock_released(db));
    check_no_password(result);
  }
  // Alembic ran every revision in one transaction: nothing of it stayed.
  CHECK(alembic_version(db) == "(no alembic_version)");
  CHECK(shared_server().scalar(db, "SELECT to_regclass('accounts') IS NULL") == "t");
  CHECK(project.starts().size() == 1);
}

TEST_CASE("SIGTERM while a slow revision runs: 143 within the grace period, no migrator or backend of it left, the "
          "lock released, and the next start completes") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  auto env = alembic_env(project, db, {{"SLOW_MIGRATION_SECONDS", "60"}});
  int grace = 4;
  bool ignores_term = false;
  SUBCASE("the migrator stops on SIGTERM") {}
  SUBCASE("a migrator that ignores SIGTERM is SIGKILLed when the grace period ends") {
    grace = 2;
    ignores_term = true;
    env["AUTO_MIGRATE_COMMAND"] = "trap '' TERM; exec " + project.wrapper() + " /usr/bin/python3 -m alembic upgrade head";
  }
  env["AUTO_MIGRATE_COMMAND_GRACE"] = std::to_string(grace);
  test::Running running(service(project, env));
  REQUIRE_MESSAGE(eventually([&] { return sleeping_backends(db) == "1"; }, 30s), "the slow revision never ran");
  const long migrator = project.first_migrator_pid();
  REQUIRE(alive(migrator));
  // The migrator's sessions are tagged (PGAPPNAME, read by libpq under psycopg2).
  CHECK(migrator_sessions(db) == "1");

  const auto signalled = std::chrono::steady_clock::now();
  running.signal(SIGTERM);
  const auto result = running.wait_for_exit(std::chrono::seconds(grace + 5));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - signalled);
  REQUIRE_MESSAGE(result.has_value(), "migrate-init still running " << grace + 5 << " s after SIGTERM");
  INFO(result->err);
  MESSAGE("SIGTERM to exit: " << took.count() << " ms (grace " << grace << " s)");
  CHECK(result->exit_code == 143);
  CHECK(result->out.empty());
  CHECK(took <= std::chrono::seconds(grace) + 1500ms);
  if (ignores_term) CHECK(took >= std::chrono::seconds(grace) - 100ms); // not killed before the grace period ends
  // At the moment migrate-init is gone, so are the migrator, its group and its backend.
  CHECK(!alive(migrator));
  CHECK(live_in_group(migrator) == 0);
  CHECK(sleeping_backends(db) == "0");
  CHECK(migrator_sessions(db) == "0");
  CHECK(lock_released(db));
  check_no_password(*result);

  env.erase("SLOW_MIGRATION_SECONDS");
  const auto next = test::run(service(project, env), 60s);
  INFO(next.err);
  CHECK(next.exit_code == 0);
  CHECK(next.out == "started\n");
  CHECK(alembic_version(db) == k_alembic_head);
  CHECK(project.starts().size() == 2);
}

TEST_CASE("kill -9 of migrate-init while the migrator runs: the migrator is gone within a second, and another "
          "replica completes") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  auto env = alembic_env(project, db, {{"SLOW_MIGRATION_SECONDS", "60"}});
  test::Running running(service(project, env));
  REQUIRE_MESSAGE(eventually([&] { return sleeping_backends(db) == "1"; }, 30s), "the slow revision never ran");
  const long migrator = project.first_migrator_pid();
  REQUIRE(alive(migrator));

  const auto killed = std::chrono::steady_clock::now();
  running.signal(SIGKILL);
  CHECK(running.wait(10s).exit_code == 137);
  const bool gone = eventually([&] { return !alive(migrator) && live_in_group(migrator) == 0; }, 1s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed);
  CHECK_MESSAGE(gone, "the migrator (pid " << migrator << ") outlived migrate-init by more than a second");
  MESSAGE("kill -9 to migrator gone: " << took.count() << " ms");
  if (!gone) kill(static_cast<pid_t>(migrator), SIGKILL); // do not leave it behind for the other tests

  // Its backend is cancelled server-side (client_connection_check_interval), so the next
  // replica's migrator is not stuck behind the dead one's table locks.
  env.erase("SLOW_MIGRATION_SECONDS");
  const auto next = test::run(service(project, env), 60s);
  INFO(next.err);
  MESSAGE("the next replica took " << next.elapsed.count() << " ms");
  CHECK(next.exit_code == 0);
  CHECK(next.out == "started\n");
  CHECK(alembic_version(db) == k_alembic_head);
  CHECK(project.starts().size() == 2);
  CHECK(sleeping_backends(db) == "0");
}

TEST_CASE("Credentials: the migrator gets the DDL URL as DATABASE_URL, exactly as given, the service never; no "
          "password in any log line") {
  const char* const ddl_password = "Ddl-0wner-pw-7781";
  const char* const app_password = "App-us3r-pw-4410";
  const std::string db = shared_server().create_database();
  shared_server().query(db, std::string("DO $$BEGIN\n") +
                                "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cm_ddl') THEN CREATE ROLE cm_ddl "
                                "LOGIN PASSWORD '" + ddl_password + "'; END IF;\n"
                                "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cm_app') THEN CREATE ROLE cm_app "
                                "LOGIN PASSWORD '" + app_password + "'; END IF;\nEND$$");
  shared_server().query(db, "ALTER DATABASE " + db + " OWNER TO cm_ddl");
  const std::string host = "127.0.0.1:" + std::to_string(shared_server().port()) + "/" + db;
  const std::string ddl_url = "postgresql+psycopg2://cm_ddl:" + std::string(ddl_password) + "@" + host;
  const std::string app_url = "postgresql://cm_app:" + std::string(app_password) + "@" + host;

  const Project project("alembic_project");
  const fs::path service_env = project.records() / "service.env";
  const test::Invocation invocation({"--", "/bin/sh", "-c", "env > " + service_env.string() + "; echo started"},
                                    {{"DATABASE_URL", app_url},
                                     {"AUTO_MIGRATE_DATABASE_URL", ddl_url},
                                     {"AUTO_MIGRATE_DIR", project.migrations().string()},
                                     {"AUTO_MIGRATE_COMMAND", project.command(k_alembic_upgrade)}},
                                    "", project.root());
  const auto result = test::run(invocation);
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out == "started\n");
  CHECK(alembic_version(db) == k_alembic_head);
  CHECK(shared_server().scalar(db, "SELECT tableowner FROM pg_tables WHERE tablename = 'accounts'") == "cm_ddl");

  const long migrator = project.first_migrator_pid();
  const auto environment = project.migrator_environment(migrator);
  const auto has = [&](const std::string& line) {
    return std::count(environment.begin(), environment.end(), line) == 1;
  };
  const auto starting = [&](const std::string& prefix) {
    const auto found = std::find_if(environment.begin(), environment.end(),
                                    [&](const std::string& line) { return line.rfind(prefix, 0) == 0; });
    return found == environment.end() ? std::string() : *found;
  };
  CHECK(has("DATABASE_URL=" + ddl_url));
  CHECK(starting("PGAPPNAME=").rfind("PGAPPNAME=migrate-init-migrator", 0) == 0);
  CHECK(contains(starting("PGOPTIONS="), "client_connection_check_interval"));
  CHECK(project.migrator_stdin(migrator) == "/dev/null\n");

  const std::string service_environment = read_file(service_env);
  CHECK(contains(service_environment, "\nDATABASE_URL=" + app_url + "\n"));
  CHECK(!contains(service_environment, "AUTO_MIGRATE_DATABASE_URL"));
  CHECK(!contains(service_environment, ddl_password));
  CHECK(!contains(service_environment, "migrate-init-migrator"));

  // The wrapper printed the DDL URL; the log shows it masked.
  CHECK(contains(result.err, "migrator sees DATABASE_URL=postgresql+psycopg2://cm_ddl:"));
  for (const auto& line : lines_of(result.err)) {
    if (contains(line, "migrator sees DATABASE_URL=")) CHECK_MESSAGE(contains(line, "****"), line);
  }
  check_no_password(result, ddl_password);
  check_no_password(result, app_password);
}

TEST_CASE("Tenants: the migrator runs once per schema, each schema gets its own alembic_version at head") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  const std::map<std::string, std::string> env{
      {"DATABASE_URL", shared_server().url(db)},
      {"AUTO_MIGRATE_DIR", project.migrations().string()},
      {"AUTO_MIGRATE_SCHEMAS", "tenant_north,tenant_south,tenant_east"},
      {"AUTO_MIGRATE_COMMAND",
       "ALEMBIC_SCHEMA=$AUTO_MIGRATE_SCHEMA " + project.wrapper() + " /usr/bin/python3 -m alembic upgrade head"}};
  const auto result = test::run(service(project, env));
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out == "started\n");
  std::set<std::string> schemas;
  for (const auto& start : project.starts()) schemas.insert(start.substr(start.find(' ') + 1));
  CHECK(schemas == std::set<std::string>{"tenant_east", "tenant_north", "tenant_south"});
  CHECK(project.starts().size() == 3);
  for (const std::string schema : {"tenant_north", "tenant_south", "tenant_east"}) {
    CAPTURE(schema);
    CHECK(alembic_version(db, schema + ".alembic_version") == k_alembic_head);
    CHECK(shared_server().scalar(db, "SELECT name FROM " + schema + ".accounts") == "fixture-admin");
  }
  CHECK(shared_server().scalar(db, "SELECT to_regclass('public.alembic_version') IS NULL") == "t");
  CHECK(!logged_error(result.err));
  check_no_password(result);

  SUBCASE("the next start finds every tenant at head and runs no migrator") {
    const auto again = test::run(service(project, env));
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK(again.out == "started\n");
    CHECK(project.starts().size() == 3);
  }
}

// Issue 19, item 4. Once one tenant had succeeded, the others were skipped unmigrated: the run
// record in a schema-qualified ledger's schema was keyed by the command alone. Every record a
// fast path trusts is about one schema: the run record, each tenant's version table, and the
// holder's note (each tenant has its own lock; tenants cannot share AUTO_MIGRATE_LOCK_KEY).
TEST_CASE("Tenants, with an unqualified or a schema-qualified ledger: every tenant is migrated on a first deploy and "
          "the next start runs no migrator, whichever fast path answers (Alembic, files digest, holder's note)") {
  // "ops" is absent (created with the run table), or there before (the data loss of the issue).
  for (const std::string ledger : {"schema_migrations", "ops.schema_migrations", "ops.schema_migrations, ops exists"}) {
    for (const std::string kind : {"alembic", "files", "note-alembic", "note-files"}) {
      CAPTURE(ledger);
      CAPTURE(kind);
      const bool qualified = contains(ledger, "ops");
      const bool alembic = contains(kind, "alembic");
      // A missing "ops" is created by the run table's code, the same for every kind: the
      // quick psql migrator covers it (each Alembic tenant run costs seconds).
      if (alembic && ledger == "ops.schema_migrations") continue;
      const bool note = contains(kind, "note");
      const Project project(alembic ? "alembic_project" : "psql_migrator");
      const std::string db = shared_server().create_database();
      // The Alembic fixture creates its tenant's schema; the psql one creates none.
      if (!alembic) shared_server().query(db, "CREATE SCHEMA x1; CREATE SCHEMA y1; CREATE SCHEMA z1");
      if (contains(ledger, "exists")) shared_server().query(db, "CREATE SCHEMA ops");
      const auto env_for = [&](const std::string& schemas, std::map<std::string, std::string> extra) {
        extra["AUTO_MIGRATE_SCHEMAS"] = schemas;
        if (qualified) {
          extra["AUTO_MIGRATE_TABLE"] = "ops.schema_migrations";
          extra["AUTO_MIGRATE_ALEMBIC_VERSION_TABLE"] = "ops.alembic_version";
        }
        if (!alembic) return psql_env(project, db, extra);
        extra["AUTO_MIGRATE_COMMAND"] =
            "ALEMBIC_SCHEMA=$AUTO_MIGRATE_SCHEMA " + project.wrapper() + " /usr/bin/python3 -m alembic upgrade head";
        return alembic_env(project, db, extra);
      };
      const std::vector<std::string> tenants{"x1", "y1", "z1"};
      if (note) {
        // Two replicas: the waiter is woken by the holder's release of x1 (the same tenant,
        // its own lock), and trusts what it says; then each tenant is someone's to migrate.
        const std::map<std::string, std::string> debug{{"AUTO_MIGRATE_LOG_LEVEL", "debug"}};
        test::Running holder(service(project, env_for("x1,y1,z1", with(debug, {{"SLOW_MIGRATION_SECONDS", "2"}}))));
        REQUIRE_MESSAGE(eventually([&] { return project.starts().size() == 1; }, 30s), "the holder's migrator never ran");
        test::Running waiter(service(project, env_for("x1,y1,z1", debug)));
        REQUIRE(waiter.wait_for_log("waiting for the migration lock", 20s));
        for (auto* replica : {&holder, &waiter}) {
          const auto result = replica->wait(60s);
          INFO(result.err);
          CHECK(result.exit_code == 0);
          CHECK(!logged_error(result.err));
          if (replica == &waiter) CHECK(contains(result.err, "the lock holder"));
        }
      } else {
        const auto first = test::run(service(project, env_for("x1,y1,z1", {})));
        INFO(first.err);
        CHECK(first.exit_code == 0);
        CHECK(!logged_error(first.err));
      }
      CHECK(started_schemas(project) == std::multiset<std::string>(tenants.begin(), tenants.end()));
      for (const auto& tenant : tenants) CHECK_MESSAGE(migrated(db, tenant, alembic), tenant);

      const auto again = test::run(service(project, env_for("x1,y1,z1", {})));
      INFO(again.err);
      CHECK(again.exit_code == 0);
      CHECK(again.out == "started\n");
      CHECK(project.starts().size() == tenants.size()); // none more
      CHECK(test::count(again.err, "database is up to date") == tenants.size());
    }
  }
}

// Issue 19, item 4: a run table from before records named their schema is kept, keyed anew,
// and its rows (about no schema one can tell) are not trusted.
TEST_CASE("A migrate_init_runs keyed by the command alone gets target_schema in place; its old row does not skip the "
          "migrator") {
  const Project project("psql_migrator");
  const std::string earlier = shared_server().create_database();
  REQUIRE(test::run(service(project, psql_env(project, earlier))).exit_code == 0);
  // The row an earlier version would have written for these very files.
  const std::string digest = shared_server().scalar(earlier, "SELECT files_digest FROM migrate_init_runs");
  const std::string db = shared_server().create_database();
  shared_server().query(db, "CREATE TABLE migrate_init_runs (command text PRIMARY KEY, files_digest text NOT NULL, "
                            "succeeded_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint NOT NULL, host text NOT "
                            "NULL); INSERT INTO migrate_init_runs (command, files_digest, duration_ms, host) VALUES ('" +
                                psql_env(project, db).at("AUTO_MIGRATE_COMMAND") + "', '" + digest + "', 1, 'old')");
  const auto first = test::run(service(project, psql_env(project, db)));
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(!logged_error(first.err));
  CHECK(project.starts().size() == 2); // the earlier database's, and this one's: the old row was not trusted
  CHECK(migrated(db, "public", false));
  CHECK(shared_server().scalar(db, "SELECT string_agg(coalesce(nullif(target_schema, ''), '(none)') || ' ' || host, "
                                   "', ' ORDER BY target_schema) FROM migrate_init_runs") ==
        "(none) old, public " + shared_server().scalar(db, "SELECT host FROM migrate_init_runs WHERE host <> 'old'"));
  CHECK(shared_server().scalar(db, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                                   "'migrate_init_runs'::regclass AND contype = 'p'") ==
        "PRIMARY KEY (command, target_schema)");
  const auto again = test::run(service(project, psql_env(project, db)));
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(project.starts().size() == 2);
  CHECK(contains(again.err, "database is up to date"));
}

// Issue 19, item 5: README says a missing tenant schema is created; command mode did not.
TEST_CASE("Tenants in command mode: a missing tenant schema is created under its lock before the migrator runs") {
  const Project project("psql_migrator");
  const std::string db = shared_server().create_database();
  const auto result =
      test::run(service(project, psql_env(project, db, {{"AUTO_MIGRATE_SCHEMAS", "new_north,new_south"}})));
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out == "started\n");
  CHECK(!logged_error(result.err));
  CHECK(contains(result.err, "creating tenant schema new_north"));
  CHECK(started_schemas(project) == std::multiset<std::string>{"new_north", "new_south"});
  for (const std::string schema : {"new_north", "new_south"}) CHECK_MESSAGE(migrated(db, schema, false), schema);
}

// Issue 19, item 10: with a broken revision, every waiting replica ran the failing migrator
// in turn. The holder's release says it failed, on which files; the waiters with those files
// do not run it again, and the next start does.
TEST_CASE("A migrator fails while others wait: the waiters with the same files report the holder's failure without "
          "running it, a waiter with other files runs its own, and the next start tries again") {
  std::unique_ptr<Project> broken;
  std::unique_ptr<Project> other_files;
  bool alembic = false;
  const std::string db = shared_server().create_database();
  SUBCASE("any command (psql)") {
    broken = std::make_unique<Project>("psql_migrator");
    broken->write("migrations/002_broken.sql", "ALTER TABLE no_such_table ADD COLUMN x int;\n");
    other_files = std::make_unique<Project>("psql_migrator");
    other_files->write("migrations/002_fixed.sql", "ALTER TABLE items ADD COLUMN IF NOT EXISTS x int;\n");
  }
  SUBCASE("Alembic") {
    alembic = true;
    broken = std::make_unique<Project>("alembic_project");
    add_failing_revision(*broken);
    other_files = std::make_unique<Project>("alembic_project");
  }
  const auto env_of = [&](const Project& project, const std::map<std::string, std::string>& extra) {
    return alembic ? alembic_env(project, db, extra) : psql_env(project, db, extra);
  };
  const std::map<std::string, std::string> strict{{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}};
  test::Running holder(service(*broken, env_of(*broken, with(strict, {{"SLOW_MIGRATION_SECONDS", "4"}}))));
  REQUIRE_MESSAGE(eventually([&] { return broken->starts().size() == 1; }, 30s), "the holder's migrator never ran");
  test::Running strict_waiter(service(*broken, env_of(*broken, strict)));
  test::Running lenient_waiter(service(*broken, env_of(*broken, {})));
  test::Running other_image(service(*other_files, env_of(*other_files, {})));
  for (auto* waiter : {&strict_waiter, &lenient_waiter, &other_image}) {
    REQUIRE(waiter->wait_for_log("waiting for the migration lock", 20s));
  }
  const std::string reported = "the lock holder's migrator failed on these same files";
  const auto held = holder.wait(60s);
  INFO(held.err);
  CHECK(held.exit_code == 1);
  CHECK(contains(held.err, "the migrator failed"));
  const auto strictly = strict_waiter.wait(60s);
  INFO(strictly.err);
  CHECK(strictly.exit_code == 1);
  CHECK(strictly.out.empty());
  CHECK(contains(strictly.err, reported));
  const auto leniently = lenient_waiter.wait(60s);
  INFO(leniently.err);
  CHECK(leniently.exit_code == 0);
  CHECK(leniently.out == "started\n");
  CHECK(contains(leniently.err, reported));
  const auto other = other_image.wait(60s);
  INFO(other.err);
  CHECK(other.exit_code == 0);
  CHECK(other.out == "started\n");
  CHECK(!logged_error(other.err));
  CHECK(broken->starts().size() == 1); // the holder's only
  CHECK(other_files->starts().size() == 1);

  const auto again = test::run(service(*broken, env_of(*broken, {})));
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(contains(again.err, "the migrator failed"));
  CHECK(!contains(again.err, reported));
  CHECK(broken->starts().size() == 2);
  CHECK(advisory_locks(db) == "0");
}

TEST_CASE("check, offline: two Alembic heads exit 5 naming both, the fixtures' merged graph 0, a duplicate .sql "
          "version 5") {
  const Project project("alembic_project");
  // As in CI: the deployment's settings, and no database at all.
  const std::map<std::string, std::string> env{{"AUTO_MIGRATE_DIR", project.migrations().string()},
                                               {"AUTO_MIGRATE_COMMAND", project.command(k_alembic_upgrade)}};
  SUBCASE("the merged graph") {
    const auto merged = test::run({{"check"}, env, "", project.root()});
    INFO(merged.out, merged.err);
    CHECK(merged.exit_code == 0);
  }
  SUBCASE("two developers branched from the same revision: two heads") {
    // Without the merge and what follows it, 2b5e8c1f4a62 and 3c7a9e2d5b84 are both heads.
    for (const char* name : {"4d1b6f3e8c25_merge_email_and_orders.py", "5e2c7a4f9d16_seed_plans.py",
                             "6f3d8b5a1e47_order_status.py"}) {
      project.remove(std::string("migrations/versions/") + name);
    }
    const auto heads = test::run({{"check"}, env, "", project.root()});
    INFO(heads.out, heads.err);
    CHECK(heads.exit_code == 5);
    CHECK(contains(heads.out + heads.err, "2b5e8c1f4a62"));
    CHECK(contains(heads.out + heads.err, "3c7a9e2d5b84"));
    const auto json = test::run({{"check", "--json"}, env, "", project.root()});
    INFO(json.out);
    CHECK(json.exit_code == 5);
    CHECK(contains(json.out, "2b5e8c1f4a62"));
    CHECK(contains(json.out, "3c7a9e2d5b84"));
  }
  SUBCASE("a .sql directory with a duplicate version") {
    test::TempDir sql;
    sql.write("001_users.sql", "CREATE TABLE users (id int);\n");
    sql.write("001_orders.sql", "CREATE TABLE orders (id int);\n");
    sql.write("002_index.sql", "CREATE INDEX users_id ON users (id);\n");
    const auto duplicate = test::run({{"check"}, {{"AUTO_MIGRATE_DIR", sql.path().string()}}});
    INFO(duplicate.out, duplicate.err);
    CHECK(duplicate.exit_code == 5);
    CHECK(contains(duplicate.out + duplicate.err, "001_users.sql"));
    CHECK(contains(duplicate.out + duplicate.err, "001_orders.sql"));
  }
}

TEST_CASE("status, plan and verify in command mode say what is pending without running the migrator") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  const auto report = [&](const std::vector<std::string>& args) {
    return test::run(test::Invocation(args, alembic_env(project, db), "", project.root()));
  };
  const auto before = report({"status"});
  INFO(before.err);
  CHECK(before.exit_code == 0);
  CHECK(contains(before.out, "fast path: alembic\nheads: 6f3d8b5a1e47\n"));
  CHECK(contains(before.out, "pending: alembic_version does not exist yet"));
  CHECK(report({"verify"}).exit_code == 5);
  CHECK(project.starts().empty());

  // Half-way: the first revision only, applied by the real Alembic.
  const auto partial = test::run(test::Invocation(
      {"migrate"}, alembic_env(project, db, {{"AUTO_MIGRATE_COMMAND", project.command({"/usr/bin/python3", "-m", "alembic",
                                                                                      "upgrade", "1f0c2a7d9b31"})}}),
      "", project.root()));
  REQUIRE(partial.exit_code == 0);
  const auto plan = report({"plan"});
  CHECK(contains(plan.out, "database: 1f0c2a7d9b31\n"));
  INFO(plan.out);
  const std::size_t line = plan.out.find("pending revisions:");
  REQUIRE(line != std::string::npos);
  const std::string pending = plan.out.substr(line, plan.out.find('\n', line) - line);
  for (const char* revision : {"2b5e8c1f4a62", "3c7a9e2d5b84", "4d1b6f3e8c25", "5e2c7a4f9d16", "6f3d8b5a1e47"}) {
    CHECK(contains(pending, revision));
  }
  CHECK_FALSE(contains(pending, "1f0c2a7d9b31"));
  const auto json = report({"verify", "--json"});
  CHECK(json.exit_code == 5);
  CHECK(contains(json.out, "\"current\":[\"1f0c2a7d9b31\"]"));
  CHECK(contains(json.out, "\"ok\":false"));

  REQUIRE(test::run(service(project, alembic_env(project, db))).exit_code == 0);
  const auto after = report({"verify", "--json"});
  CHECK(after.exit_code == 0);
  CHECK(contains(after.out, "\"pending_revisions\":[]"));
  CHECK(contains(after.out, "\"ok\":true"));
  CHECK(contains(report({"status"}).out, "up to date (Alembic at head 6f3d8b5a1e47)"));
  check_no_password(after);
}

TEST_CASE("AUTO_MIGRATE=false with AUTO_MIGRATE_WAIT_FOR_SCHEMA waits for another instance's migrator, never runs it") {
  const Project project("alembic_project");
  const std::string db = shared_server().create_database();
  test::Running waiter(
      service(project, alembic_env(project, db, {{"AUTO_MIGRATE", "false"}, {"AUTO_MIGRATE_WAIT_FOR_SCHEMA", "90"}})));
  REQUIRE(waiter.wait_for_log("waiting for another instance to run the migrator", 30s));
  CHECK(project.starts().empty());
  // It polls every second at most; only its first read may fail (a plain SELECT of the
  // missing alembic_version, an ERROR in the server's log), later ones ask quietly. Each
  // failed statement is a rolled-back transaction in the database's statistics.
  std::this_thread::sleep_for(4s);
  CHECK(std::stoi(shared_server().scalar("postgres", "SELECT xact_rollback FROM pg_stat_database WHERE datname = '" +
                                                         db + "'")) <= 1);
  const auto job = test::run(test::Invocation({"migrate"}, alembic_env(project, db), "", project.root()));
  INFO(job.err);
  CHECK(job.exit_code == 0);
  const auto served = waiter.wait(60s);
  INFO(served.err);
  CHECK(served.exit_code == 0);
  CHECK(served.out == "started\n");
  CHECK(contains(served.err, "the schema is complete (Alembic at head 6f3d8b5a1e47)"));
  CHECK(project.starts().size() == 1); // the job's, not the waiter's
}

namespace {

// The fixture as the previous release shipped it: without its newest revision (head 5e2c7a4f9d16).
void make_older_image(const Project& project) { project.remove("migrations/versions/6f3d8b5a1e47_order_status.py"); }

const char* const k_ahead_warning = "the database is ahead of this image: at 6f3d8b5a1e47, which a newer image "
                                    "recorded; this image's head is 5e2c7a4f9d16";

} // namespace

TEST_CASE("A rollback deploy: the older image starts on the database a newer image upgraded, with a warning, in both "
          "README patterns, and never runs its migrator") {
  const Project newer("alembic_project");
  const Project older("alembic_project");
  make_older_image(older);
  const std::string db = shared_server().create_database();
  const auto upgraded = test::run(service(newer, alembic_env(newer, db, {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}})));
  INFO(upgraded.err);
  REQUIRE(upgraded.exit_code == 0);
  REQUIRE(alembic_version(db) == k_alembic_head);
  // What the newer image left for the older one: every revision its files know.
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM migrate_init_alembic_revisions WHERE version_table = "
                                   "'alembic_version'") == "6");
  CHECK(shared_server().scalar(db, "SELECT down_revisions::text FROM migrate_init_alembic_revisions WHERE revision = "
                                   "'4d1b6f3e8c25'") == "{2b5e8c1f4a62,3c7a9e2d5b84}");

  SUBCASE("AUTO_MIGRATE=true with AUTO_MIGRATE_FAIL_ON_ERROR=true") {
    const auto started =
        test::run(service(older, alembic_env(older, db, {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}})));
    INFO(started.err);
    CHECK(started.exit_code == 0);
    CHECK(started.out == "started\n");
    CHECK(contains(started.err, k_ahead_warning));
    CHECK(!logged_error(started.err));
  }
  SUBCASE("the Kubernetes app: AUTO_MIGRATE=false with AUTO_MIGRATE_REQUIRED=all, and the init container's migrate") {
    const auto init = test::run(test::Invocation(
        {"migrate"}, alembic_env(older, db, {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}}), "", older.root()));
    INFO(init.err);
    CHECK(init.exit_code == 0);
    CHECK(contains(init.err, k_ahead_warning));
    const auto app = test::run(
        service(older, alembic_env(older, db, {{"AUTO_MIGRATE", "false"}, {"AUTO_MIGRATE_REQUIRED", "all"}})));
    INFO(app.err);
    CHECK(app.exit_code == 0);
    CHECK(app.out == "started\n");
    CHECK(contains(app.err, k_ahead_warning));
  }
  SUBCASE("JSON logs: the warning is the alembic.ahead event") {
    const auto json = test::run(service(older, alembic_env(older, db, {{"AUTO_MIGRATE_LOG_FORMAT", "json"}})));
    INFO(json.err);
    CHECK(json.exit_code == 0);
    CHECK(contains(json.err, "\"event\":\"alembic.ahead\""));
    CHECK(contains(json.err, "\"current\":\"6f3d8b5a1e47\",\"heads\":\"5e2c7a4f9d16\""));
  }
  SUBCASE("status and verify say ahead, with nothing pending") {
    const auto verify = test::run(test::Invocation({"verify"}, alembic_env(older, db), "", older.root()));
    INFO(verify.out, verify.err);
    CHECK(verify.exit_code == 0);
    CHECK(contains(verify.out, "database: 6f3d8b5a1e47 (ahead of this image)\npending revisions: none\n"));
    const auto json = test::run(test::Invocation({"status", "--json"}, alembic_env(older, db), "", older.root()));
    CHECK(contains(json.out, "\"ahead\":true"));
    CHECK(contains(json.out, "\"pending_revisions\":[]"));
  }
  CHECK(older.starts().empty()); // its Alembic would fail: "Can't locate revision identified by '6f3d8b5a1e47'"
  CHECK(alembic_version(db) == k_alembic_head);
}

TEST_CASE("A revision no image recorded still stops the older image: its migrator fails with "
          "AUTO_MIGRATE_FAIL_ON_ERROR, and AUTO_MIGRATE_REQUIRED=all exits 5 saying the revision is unknown") {
  const Project newer("alembic_project");
  const Project older("alembic_project");
  make_older_image(older);
  const std::string db = shared_server().create_database();
  // Upgraded without the fast path (as by hand, or by an image before this record): nothing recorded.
  const auto upgraded = test::run(service(newer, alembic_env(newer, db, {{"AUTO_MIGRATE_FAST_PATH", "off"}})));
  INFO(upgraded.err);
  REQUIRE(upgraded.exit_code == 0);
  REQUIRE(alembic_version(db) == k_alembic_head);

  const auto failed = test::run(service(older, alembic_env(older, db, {{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}})));
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(failed.out.empty());
  CHECK(contains(failed.err, "Can't locate revision"));
  CHECK(!contains(failed.err, "ahead of this image"));
  CHECK(older.starts().size() == 1);

  const auto refused = test::run(
      service(older, alembic_env(older, db, {{"AUTO_MIGRATE", "false"}, {"AUTO_MIGRATE_REQUIRED", "all"}})));
  INFO(refused.err);
  CHECK(refused.exit_code == 5);
  CHECK(refused.out.empty());
  CHECK(contains(refused.err, "the database is at a revision this image does not know "
                              "(AUTO_MIGRATE_REQUIRED=all): "
                              "the database is at 6f3d8b5a1e47, the revision files' head is 5e2c7a4f9d16: "
                              "6f3d8b5a1e47 is unknown to this image's revision files and never recorded by any image"));
  CHECK(older.starts().size() == 1);
}
