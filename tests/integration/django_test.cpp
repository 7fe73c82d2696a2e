// Command mode with Django (issue 20, item 11): the real `manage.py migrate` of Debian's
// python3-django, on a project with two apps of its own (shop, blog) and two of Django's
// (contenttypes, auth, whose migrations live in site-packages), run by the built binary.
// Django applies every installed app's migrations, so no one folder of files tells the fast
// path that nothing is pending: without a manifest of the graph the migrator runs on every
// start; with README's manifest it runs once per change of the graph.
#include "command_project.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <cstdio>
#include <memory>
#include <thread>

using namespace std::chrono_literals;
using namespace test;

namespace {

const std::vector<std::string> k_django_migrate{"/usr/bin/python3", "manage.py", "migrate", "--noinput"};

// README's one-liner (section "Django"), run in the project's root: the migration graph as
// Django's own loader builds it, without a database.
const char* const k_manifest_command =
    "python manage.py shell -c \"from django.db.migrations.loader import MigrationLoader as L; "
    "print('\\n'.join(sorted('%s %s' % n for n in L(None, ignore_no_migrations=True).graph.nodes)))\" "
    "> django-migrations.txt";

// Writes the project's manifest with README's one-liner (Debian's python3 for `python`).
void write_manifest(const Project& project) {
  std::string command = k_manifest_command;
  command.replace(0, 6, "/usr/bin/python3");
  const std::string line = "cd '" + project.root().string() + "' && " + command;
  REQUIRE_MESSAGE(std::system(line.c_str()) == 0, line);
  REQUIRE(lines_of(read_file(project.root() / "django-migrations.txt")).size() >= 17);
}

// The Django fixture run through its recording wrapper; the manifest when `manifest`.
std::map<std::string, std::string> django_env(const Project& project, const std::string& db, bool manifest,
                                              const std::map<std::string, std::string>& extra = {}) {
  std::map<std::string, std::string> env{{"DATABASE_URL", shared_server().url(db)},
                                         {"AUTO_MIGRATE_COMMAND", project.command(k_django_migrate)}};
  if (manifest) env["AUTO_MIGRATE_DJANGO_MIGRATIONS"] = "django-migrations.txt";
  return with(env, extra);
}

// The names of the migrations of `app` Django recorded as applied in this database, sorted.
std::string applied(const std::string& db, const std::string& app) {
  return shared_server().scalar(db, "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM django_migrations "
                                    "WHERE app = '" + app + "'");
}

void add_blog_note(const Project& project) {
  project.write("blog/migrations/0003_note.py",
                "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
                "    dependencies = [(\"blog\", \"0002_slow\")]\n"
                "    operations = [migrations.AddField(\"post\", \"note\", models.TextField(default=\"\"))]\n");
}

} // namespace

TEST_CASE("README's Django recipe without a manifest: a migration added to an app that AUTO_MIGRATE_DIR does not "
          "name is applied at the next start (the fast path is off, and says why)") {
  const Project project("django_project");
  const std::string db = shared_server().create_database();
  // The recipe before issue 20: the fast path read one app's folder, so a migration of
  // another app was never applied (exit 0, no row).
  const auto env = django_env(project, db, false, {{"AUTO_MIGRATE_DIR", "shop/migrations"}});
  const auto first = run(service(project, env), 120s);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(applied(db, "blog") == "0001_initial,0002_slow");
  CHECK(contains(first.err, "the migrator runs on every start: Django applies the migrations of every installed app"));
  CHECK(contains(first.err, "AUTO_MIGRATE_DIR"));

  add_blog_note(project);
  const auto second = run(service(project, env), 120s);
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out == "started\n");
  CHECK(applied(db, "blog") == "0001_initial,0002_slow,0003_note");
  CHECK(project.starts().size() == 2);
  check_no_password(second);

  SUBCASE("status says so too: fast path none") {
    const auto status = run(Invocation({"status"}, env, "", project.root()), 60s);
    INFO(status.err);
    CHECK(contains(status.out, "fast path: none"));
  }
}

TEST_CASE("With the manifest, 16 replicas on a fresh database run Django's migrate once; a restart skips it; a new "
          "migration, a package's new migration or a manifest older than the files each run it again") {
  const Project project("django_project");
  write_manifest(project);
  const std::string db = shared_server().create_database();
  const auto env = django_env(project, db, true, {{"SLOW_MIGRATION_SECONDS", "1"}});
  std::vector<Running> replicas;
  for (int i = 0; i < 16; ++i) replicas.emplace_back(service(project, env));
  int started = 0;
  for (auto& replica : replicas) {
    const auto result = replica.wait(180s);
    INFO(result.err);
    CHECK(result.exit_code == 0);
    // (not logged_error(): Django's auth.0007_alter_validators_add_error_messages says "error")
    CHECK(!contains(result.err, "migrate-init error"));
    CHECK(!contains(result.err, "Traceback"));
    check_no_password(result);
    started += result.out == "started\n";
  }
  CHECK(started == 16);
  CHECK(project.starts().size() == 1);
  CHECK(applied(db, "shop") == "0001_initial");
  CHECK(applied(db, "blog") == "0001_initial,0002_slow");
  CHECK(applied(db, "auth") != ""); // site-packages' migrations, applied by the same run
  CHECK(advisory_locks(db) == "0");

  // Nothing changed: one query, no migrator.
  const auto restart = run(service(project, env), 60s);
  INFO(restart.err);
  CHECK(restart.exit_code == 0);
  CHECK(contains(restart.err, "Django migrations of django-migrations.txt"));
  CHECK(project.starts().size() == 1);

  // A new migration in the project, the manifest written again by the image build.
  add_blog_note(project);
  write_manifest(project);
  CHECK(run(service(project, env), 120s).exit_code == 0);
  CHECK(applied(db, "blog") == "0001_initial,0002_slow,0003_note");
  CHECK(project.starts().size() == 2);

  // A package upgrade brings a migration of its own app: only the manifest shows it.
  project.write("django-migrations.txt", read_file(project.root() / "django-migrations.txt") + "auth 9999_upgrade\n");
  const auto upgraded = run(service(project, env), 120s);
  INFO(upgraded.err);
  CHECK(contains(upgraded.err, "the Django migrations in django-migrations.txt changed since the migrator's last success"));
  CHECK(project.starts().size() == 3);

  // A manifest kept in the repository, older than the files: the migrator runs, with a warning.
  write_manifest(project);
  CHECK(run(service(project, env), 120s).exit_code == 0);
  CHECK(project.starts().size() == 4);
  project.write("blog/migrations/0004_more.py",
                "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
                "    dependencies = [(\"blog\", \"0003_note\")]\n"
                "    operations = [migrations.AddField(\"post\", \"more\", models.TextField(default=\"\"))]\n");
  const auto stale = run(service(project, env), 120s);
  INFO(stale.err);
  CHECK(stale.exit_code == 0);
  CHECK(contains(stale.err, "names no migration blog/migrations/0004_more.py of the project: probably written before "
                            "these files"));
  CHECK(applied(db, "blog") == "0001_initial,0002_slow,0003_note,0004_more");
  CHECK(project.starts().size() == 5);
}

TEST_CASE("A manifest that is not one: exit 2 naming the file and line, whatever AUTO_MIGRATE_FAIL_ON_ERROR says, "
          "and no migrator") {
  const Project project("django_project");
  const std::string db = shared_server().create_database();
  std::string expected;
  SUBCASE("a line that is not APP NAME") {
    project.write("django-migrations.txt", "shop 0001_initial\nthis is not a migration\n");
    expected = "AUTO_MIGRATE_DJANGO_MIGRATIONS: django-migrations.txt:2: not a migration";
  }
  SUBCASE("empty") {
    project.write("django-migrations.txt", "\n");
    expected = "django-migrations.txt: the Django migrations manifest names no migration";
  }
  SUBCASE("missing") { expected = "django-migrations.txt: cannot read the Django migrations manifest"; }
  const auto result = run(service(project, django_env(project, db, true)), 60s);
  INFO(result.err);
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK(contains(result.err, expected));
  CHECK(project.starts().empty());
}

TEST_CASE("Stopped mid-migration, by SIGTERM or kill -9: no migrator or backend of it is left, and the next start "
          "completes Django's migrations") {
  const Project project("django_project");
  write_manifest(project);
  const std::string db = shared_server().create_database();
  auto env = django_env(project, db, true, {{"SLOW_MIGRATION_SECONDS", "60"}, {"AUTO_MIGRATE_COMMAND_GRACE", "4"}});
  int signal_number = SIGTERM;
  int expected_exit = 143;
  SUBCASE("SIGTERM") {}
  SUBCASE("kill -9") {
    signal_number = SIGKILL;
    expected_exit = 137;
  }
  Running running(service(project, env));
  REQUIRE_MESSAGE(eventually([&] { return sleeping_backends(db) == "1"; }, 60s), "the slow migration never ran");
  const long migrator = project.first_migrator_pid();
  REQUIRE(alive(migrator));
  CHECK(migrator_sessions(db) == "1");
  running.signal(signal_number);
  const auto result = running.wait(15s);
  INFO(result.err);
  CHECK(result.exit_code == expected_exit);
  CHECK(result.out.empty());
  const bool gone = eventually([&] { return !alive(migrator) && live_in_group(migrator) == 0; }, 2s);
  CHECK_MESSAGE(gone, "the migrator (pid " << migrator << ") outlived migrate-init");
  if (!gone) kill(static_cast<pid_t>(migrator), SIGKILL);
  // Django runs each migration in a transaction: the slow one was rolled back.
  CHECK(eventually([&] { return sleeping_backends(db) == "0"; }, 10s));
  CHECK(applied(db, "blog") == "0001_initial");

  env.erase("SLOW_MIGRATION_SECONDS");
  const auto next = run(service(project, env), 120s);
  INFO(next.err);
  CHECK(next.exit_code == 0);
  CHECK(next.out == "started\n");
  CHECK(applied(db, "blog") == "0001_initial,0002_slow");
  CHECK(project.starts().size() == 2);
  // And the one after takes the fast path.
  CHECK(run(service(project, env), 60s).exit_code == 0);
  CHECK(project.starts().size() == 2);
}

TEST_CASE("README shows the manifest one-liner this test runs") {
  CHECK(contains(read_file(example_migrations().parent_path() / "README.md"), k_manifest_command));
}
