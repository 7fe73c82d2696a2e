#include "command/django/django_project.hpp"

#include "scratch_dir.hpp"
#include "usage_error.hpp"

#include <doctest/doctest.h>

using namespace migrate_init;
using test::ScratchDir;

namespace {

using Args = std::vector<std::string>;

django::Manifest manifest_of(const ScratchDir& dir, const std::string& text) {
  dir.write("m.txt", text);
  return django::read_manifest(dir.path / "m.txt");
}

} // namespace

TEST_CASE("A command runs Django's migrate through manage.py, django-admin or python -m django, argv or shell") {
  CHECK(django::command_runs_migrate(Args{"python", "manage.py", "migrate", "--noinput"}));
  CHECK(django::command_runs_migrate(Args{"/app/manage.py", "migrate"}));
  CHECK(django::command_runs_migrate(Args{"/bin/sh", "-c", "python manage.py collectstatic --noinput && python "
                                                           "manage.py migrate"}));
  CHECK(django::command_runs_migrate(Args{"django-admin", "migrate", "--settings=site.settings"}));
  CHECK(django::command_runs_migrate(Args{"python3", "-m", "django", "migrate"}));
  CHECK_FALSE(django::command_runs_migrate(Args{"python", "manage.py", "collectstatic"}));
  CHECK_FALSE(django::command_runs_migrate(Args{"alembic", "upgrade", "head"}));
  CHECK_FALSE(django::command_runs_migrate(Args{"npx", "knex", "migrate:latest"}));
  // `migrate` before any Django word is another tool's.
  CHECK_FALSE(django::command_runs_migrate(Args{"/bin/sh", "-c", "goose migrate && python manage.py check"}));
  // Shell words with operators or quotes glued to them (the review's `migrate&&`).
  CHECK(django::command_runs_migrate(Args{"/bin/sh", "-c", "python manage.py migrate&& exec gunicorn app"}));
  CHECK(django::command_runs_migrate(Args{"/bin/sh", "-c", "python 'manage.py' migrate;"}));
  CHECK(django::command_runs_migrate(Args{"python", "-mdjango", "migrate"}));
  CHECK(django::runs_syncdb(Args{"python", "manage.py", "migrate", "--run-syncdb"}));
  CHECK_FALSE(django::runs_syncdb(Args{"python", "manage.py", "migrate"}));
  CHECK(django::manage_py_of(Args{"/bin/sh", "-c", "cd /srv && python src/manage.py migrate"}) == "src/manage.py");
  CHECK(django::manage_py_of(Args{"alembic", "upgrade", "head"}).empty());
}

TEST_CASE("A Django manifest: APP NAME a line; order, repeats, blank lines, comments and CRLF do not change its "
          "digest; anything else is exit 2 naming the file and line") {
  ScratchDir dir;
  const auto manifest = manifest_of(dir, "shop 0001_initial\nauth 0001_initial\n");
  CHECK(manifest.migrations.size() == 2);
  CHECK(manifest.migrations.front().app == "auth"); // sorted
  CHECK(manifest_of(dir, "\n# written by the build\r\nauth 0001_initial\r\nshop 0001_initial\nshop 0001_initial\n")
            .digest == manifest.digest);
  CHECK(manifest_of(dir, "shop 0001_initial\nauth 0002_x\n").digest != manifest.digest);
  CHECK(manifest_of(dir, "shop 0001_initial\nauth 0001_initial\nauth 0002_x\n").digest != manifest.digest);

  const std::string file = (dir.path / "m.txt").string();
  CHECK(test::usage_error_message_of([&] { manifest_of(dir, "shop 0001_initial\nshop\n"); }) ==
        file + ":2: not a migration (\"APP NAME\", as README's one-liner prints them): shop");
  CHECK(test::usage_error_message_of([&] { manifest_of(dir, "shop 0001 extra\n"); }).find(file + ":1:") == 0);
  CHECK(test::usage_error_message_of([&] { manifest_of(dir, "9shop 0001\n"); }).find(file + ":1:") == 0);
  CHECK(test::usage_error_message_of([&] { manifest_of(dir, "Traceback (most recent call last):\n"); })
            .find(file + ":1:") == 0);
  CHECK(test::usage_error_message_of([&] { manifest_of(dir, "\n# nothing\n"); }) ==
        file + ": the Django migrations manifest names no migration (was it written by README's one-liner, where "
               "the image is built?)");
  CHECK(test::usage_error_message_of([&] { django::read_manifest(dir.path / "none.txt"); }) ==
        (dir.path / "none.txt").string() + ": cannot read the Django migrations manifest");
}

TEST_CASE("The project's migration files a manifest lacks: each app's migrations package, not a virtual "
          "environment's, site-packages' or a folder without __init__.py") {
  ScratchDir dir;
  for (const std::string app : {"shop", "blog"}) {
    dir.write(app + "/migrations/__init__.py", "");
    dir.write(app + "/migrations/0001_initial.py", "from django.db import migrations\n");
  }
  dir.write("blog/migrations/0002_more.py", "");
  dir.write("venv/pyvenv.cfg", "home = /usr/bin\n");
  dir.write("venv/lib/python3.11/site-packages/x/migrations/__init__.py", "");
  dir.write("venv/lib/python3.11/site-packages/x/migrations/0001_initial.py", "");
  dir.write("usr/lib/python3/dist-packages/y/migrations/__init__.py", "");
  dir.write("usr/lib/python3/dist-packages/y/migrations/0005_y.py", "");
  dir.write("tools/migrations/0007_not_a_package.py", "");
  dir.write("shop/migrations/__pycache__/0003_old.cpython-311.pyc", "");
  ScratchDir list;
  const auto manifest = manifest_of(list, "shop 0001_initial\nblog 0001_initial\nauth 0001_initial\n");
  CHECK(django::files_missing_from(manifest, dir.path) == std::vector<std::string>{"blog/migrations/0002_more.py"});
  CHECK(django::files_missing_from(manifest_of(list, "shop 0001_initial\nblog 0001_initial\nblog 0002_more\n"),
                                   dir.path)
            .empty());
  SUBCASE("a new app the manifest lacks, though another app has a migration of the same name (the review's "
          "finding: a name alone let a stale manifest through)") {
    dir.write("payments/migrations/__init__.py", "");
    dir.write("payments/migrations/0001_initial.py", "");
    CHECK(django::files_missing_from(manifest_of(list, "shop 0001_initial\nblog 0001_initial\nblog 0002_more\n"),
                                     dir.path) == std::vector<std::string>{"payments/migrations/0001_initial.py"});
  }
}

TEST_CASE("A folder holds Django migrations: a manage.py at its top, or a migrations/*.py importing django.db") {
  ScratchDir project;
  CHECK_FALSE(django::holds_django_migrations(project.path));
  project.write("shop/migrations/0001_initial.py", "from django.db import migrations, models\n");
  CHECK(django::holds_django_migrations(project.path));
  CHECK(django::holds_django_migrations(project.path / "shop" / "migrations"));
  ScratchDir alembic;
  alembic.write("migrations/env.py", "from alembic import context\n");
  alembic.write("migrations/versions/1f0c_create.py", "from alembic import op\n");
  CHECK_FALSE(django::holds_django_migrations(alembic.path));
  CHECK_FALSE(django::holds_django_migrations(alembic.path / "nowhere"));
  alembic.write("manage.py", "");
  CHECK(django::holds_django_migrations(alembic.path));
}

TEST_CASE("The project's root: manage.py's folder, else the manifest's; the filesystem's root is never walked") {
  CHECK(django::project_root(Args{"python", "src/manage.py", "migrate"}, "/app/m.txt") == "src");
  CHECK(django::project_root(Args{"python", "manage.py", "migrate"}, "/app/m.txt") == ".");
  CHECK(django::project_root(Args{"django-admin", "migrate"}, "/app/m.txt") == "/app");
  CHECK(django::project_root(Args{"django-admin", "migrate"}, "m.txt") == ".");
  ScratchDir list;
  const auto manifest = manifest_of(list, "shop 0001_initial\n");
  CHECK(django::files_missing_from(manifest, "/").empty());
  CHECK(django::files_missing_from(manifest, "/usr/..").empty());
}
