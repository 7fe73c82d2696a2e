#include "command/django/django_project.hpp"

#include "error.hpp"
#include "pipeline/checksum.hpp"
#include "text.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>

namespace migrate_init::django {
namespace {

namespace fs = std::filesystem;

bool identifier(const std::string& word) {
  if (word.empty() || std::isdigit(static_cast<unsigned char>(word[0]))) return false;
  return std::all_of(word.begin(), word.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// Folders that are not the project's own code: a migration file there is an installed
// package's, found through the manifest or not at all.
bool skipped_directory(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (name.empty() || name[0] == '.' || name == "__pycache__" || name == "node_modules" || name == "site-packages" ||
      name == "dist-packages") {
    return true;
  }
  std::error_code error;
  return fs::exists(dir / "pyvenv.cfg", error); // a virtual environment
}

// Calls `visit` with each regular file under `root`, down to `depth` folders, leaving out
// skipped_directory(); stops early when `visit` returns true, and says so.
template <typename Visit>
bool walk(const fs::path& root, int depth, Visit visit) {
  std::error_code error;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, error), end;
  if (error) return false;
  for (; it != end; it.increment(error)) {
    if (error) return false;
    if (it->is_directory(error)) {
      if (it.depth() >= depth || skipped_directory(it->path())) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error) && visit(it->path())) return true;
  }
  return false;
}

// A module of a migrations package, as Django's loader takes it: a .py file whose name
// starts with neither '_' nor '~', in a folder named migrations with an __init__.py.
bool migration_module(const fs::path& file) {
  const std::string name = file.filename().string();
  if (file.extension() != ".py" || name[0] == '_' || name[0] == '~') return false;
  std::error_code error;
  return file.parent_path().filename() == "migrations" && fs::exists(file.parent_path() / "__init__.py", error);
}

} // namespace

Manifest read_manifest(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UsageError(file.string() + ": cannot read the Django migrations manifest");
  Manifest manifest{file, {}, ""};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream words(line);
    std::string app, name, extra;
    if (!(words >> app) || app[0] == '#') continue;
    if (!(words >> name) || (words >> extra) || !identifier(app)) {
      throw UsageError(file.string() + ":" + std::to_string(number) + ": not a migration (\"APP NAME\", as README's " +
                       "one-liner prints them): " + escape_control_characters(line.substr(0, 80)));
    }
    manifest.migrations.push_back({app, name});
  }
  if (manifest.migrations.empty()) {
    throw UsageError(file.string() + ": the Django migrations manifest names no migration (was it written by README's "
                                     "one-liner, where the image is built?)");
  }
  std::sort(manifest.migrations.begin(), manifest.migrations.end());
  manifest.migrations.erase(std::unique(manifest.migrations.begin(), manifest.migrations.end()),
                            manifest.migrations.end());
  std::string listing = "django migrations\n";
  for (const auto& migration : manifest.migrations) listing += migration.app + " " + migration.name + "\n";
  manifest.digest = sha256_hex(listing);
  return manifest;
}

namespace {

// A word of a shell line without the quotes around it and the operators glued to it
// (`'manage.py'`, `migrate&&`, `migrate;`).
std::string bare(std::string word) {
  while (!word.empty() && std::string_view("'\";&|()").find(word.back()) != std::string_view::npos) word.pop_back();
  std::size_t first = 0;
  while (first < word.size() && std::string_view("'\"(").find(word[first]) != std::string_view::npos) ++first;
  return word.substr(first);
}

std::vector<std::string> bare_words(const std::vector<std::string>& command) {
  std::vector<std::string> words = command_words(command);
  for (auto& word : words) word = bare(word);
  return words;
}

} // namespace

bool runs_syncdb(const std::vector<std::string>& command) {
  const auto words = bare_words(command);
  return std::find(words.begin(), words.end(), "--run-syncdb") != words.end();
}

bool command_runs_migrate(const std::vector<std::string>& command) {
  const std::vector<std::string> words = bare_words(command);
  bool django = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string name = fs::path(words[i]).filename().string();
    if (name == "manage.py" || name == "django-admin" || name == "django-admin.py" ||
        (words[i] == "-m" && i + 1 < words.size() && words[i + 1] == "django") || words[i] == "-mdjango") {
      django = true;
    } else if (django && words[i] == "migrate") {
      return true;
    }
  }
  return false;
}

std::string manage_py_of(const std::vector<std::string>& command) {
  for (const auto& word : bare_words(command)) {
    if (fs::path(word).filename() == "manage.py") return word;
  }
  return "";
}

bool holds_django_migrations(const fs::path& dir) {
  std::error_code error;
  if (fs::exists(dir / "manage.py", error)) return true;
  return walk(dir, 4, [](const fs::path& file) {
    if (file.extension() != ".py" || file.parent_path().filename() != "migrations") return false;
    std::ifstream in(file, std::ios::binary);
    std::string head(4096, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    return head.find("django.db") != std::string::npos;
  });
}

fs::path project_root(const std::vector<std::string>& command, const fs::path& manifest) {
  const std::string manage_py = manage_py_of(command);
  const fs::path folder = manage_py.empty() ? manifest.parent_path() : fs::path(manage_py).parent_path();
  return folder.empty() ? fs::path(".") : folder;
}

std::vector<std::string> files_missing_from(const Manifest& manifest, const fs::path& root) {
  std::error_code error;
  if (fs::weakly_canonical(fs::absolute(root, error), error) == fs::path("/")) return {};
  std::set<std::string> apps;
  for (const auto& migration : manifest.migrations) apps.insert(migration.app);
  std::vector<std::string> missing;
  walk(root, 8, [&](const fs::path& file) {
    if (!migration_module(file)) return false;
    const std::string name = file.stem().string();
    // The app's label is its folder's name. A folder no app of the manifest is named
    // after is a new app the manifest lacks (almost every app has a 0001_initial, so a
    // name alone proves nothing), or one whose AppConfig sets another label: the fast
    // path is off for both, the safe way to be wrong.
    const std::string folder = file.parent_path().parent_path().filename().string();
    const bool listed =
        apps.count(folder) &&
        std::binary_search(manifest.migrations.begin(), manifest.migrations.end(), Migration{folder, name});
    std::error_code error;
    if (!listed) missing.push_back(fs::relative(file, root, error).generic_string());
    return false;
  });
  std::sort(missing.begin(), missing.end());
  return missing;
}

} // namespace migrate_init::django
