#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace migrate_init::django {

// Django's `manage.py migrate` applies the migrations of every installed app: the
// project's own, and those in site-packages (django.contrib.auth, third-party apps). No
// directory of files tells what it would apply, so command mode trusts only a manifest
// of the migration graph written where the image is built (AUTO_MIGRATE_DJANGO_MIGRATIONS),
// and runs the migrator on every start when a Django project comes without one.

// One node of the migration graph: what django_migrations records once it is applied.
struct Migration {
  std::string app;
  std::string name;
  bool operator<(const Migration& other) const { return app != other.app ? app < other.app : name < other.name; }
  bool operator==(const Migration& other) const { return app == other.app && name == other.name; }
};

// The manifest: "APP NAME" a line, as README's one-liner prints MigrationLoader's graph.
struct Manifest {
  std::filesystem::path file;
  std::vector<Migration> migrations; // sorted, without repeats
  std::string digest;                // of the migrations, not of the bytes: order and blank lines do not count
};

// Reads and checks a manifest. Throws UsageError (exit 2) naming the file, and the line
// when one is not "APP NAME"; an unreadable or empty manifest is refused the same way.
Manifest read_manifest(const std::filesystem::path& file);

// Whether the command runs Django's migrate: `manage.py`, `django-admin` or `-m django`
// followed by the word `migrate` (in an argv, or in the words of a shell command). Pure.
bool command_runs_migrate(const std::vector<std::string>& command);

// Whether the command runs `migrate --run-syncdb`, which also creates the tables of apps
// that have no migrations: no manifest of the migration graph shows those. Pure.
bool runs_syncdb(const std::vector<std::string>& command);

// The path the command gives for manage.py, when it gives one ("manage.py", "/app/manage.py").
// Pure.
std::string manage_py_of(const std::vector<std::string>& command);

// Whether `dir` is a Django project or holds Django migrations: a manage.py at its top, or
// a .py file in a `migrations` folder (dir itself or one under it) that imports from
// django.db. False when it cannot be read.
bool holds_django_migrations(const std::filesystem::path& dir);

// Where the project's own apps are: the folder of the command's manage.py, else the
// manifest's folder (README's one-liner writes it beside manage.py). Pure.
std::filesystem::path project_root(const std::vector<std::string>& command, const std::filesystem::path& manifest);

// The migration files of the project under `root` (each app's migrations/ package; virtual
// environments, site-packages and dot-directories left out) that the manifest does not
// list under the app their folder is named after: a manifest older than the files. Relative paths, sorted. Empty when `root`
// is the filesystem's root: a container without a WORKDIR would otherwise walk the whole
// image at every start.
std::vector<std::string> files_missing_from(const Manifest& manifest, const std::filesystem::path& root);

} // namespace migrate_init::django
