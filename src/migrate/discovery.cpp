#include "migrate/discovery.hpp"

#include "error.hpp"
#include "migrate/checksum.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace migrate_init {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(ExitCode::migration_failed, message); }

std::string read_file(const std::filesystem::path& path) {
  // Checked before opening: a FIFO (or a device) named like a migration would block the
  // open, or never end, at a moment when stop signals are already taken over.
  std::error_code error;
  const auto status = std::filesystem::status(path, error); // follows symlinks
  if (error) fail("cannot read migration " + path.string() + ": " + error.message());
  if (!std::filesystem::is_regular_file(status)) fail("cannot read migration " + path.string() + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read migration " + path.string() + ": " + std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) fail("cannot read migration " + path.string() + ": " + std::strerror(errno));
  return contents.str();
}

std::string without_bom(std::string text) {
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  return text;
}

} // namespace

Migration::Migration(MigrationFileName file_, std::string checksum_, std::string text)
    : file(std::move(file_)), checksum(std::move(checksum_)), m_text(std::move(text)) {}

Migration::Migration(MigrationFileName file_, std::string checksum_, MigrationScript script)
    : file(std::move(file_)), checksum(std::move(checksum_)),
      m_script(std::make_shared<const MigrationScript>(std::move(script))) {}

const MigrationScript& Migration::script() const {
  if (!m_script) {
    m_script = std::make_shared<const MigrationScript>(parse_migration_script(file.file_name, m_text));
    m_text = std::string(); // parsed once; the statements keep what is needed
  }
  return *m_script;
}

std::vector<MigrationFileName> MigrationSet::file_names() const {
  std::vector<MigrationFileName> names;
  names.reserve(migrations.size());
  for (const auto& migration : migrations) names.push_back(migration.file);
  return names;
}

MigrationSet load_migrations(const std::filesystem::path& directory) {
  std::error_code error;
  const auto status = std::filesystem::status(directory, error);
  if (error || !std::filesystem::exists(status)) {
    fail("migrations directory " + directory.string() + " does not exist (set AUTO_MIGRATE_DIR or --dir)");
  }
  if (!std::filesystem::is_directory(status)) fail("migrations directory " + directory.string() + " is not a directory");

  std::vector<std::string> file_names;
  std::vector<std::string> subdirectories;
  std::filesystem::directory_iterator entries(directory, error);
  for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
    const std::string name = entries->path().filename().string();
    if (entries->is_directory(error)) {
      subdirectories.push_back(name);
    } else {
      file_names.push_back(name);
    }
  }
  if (error) fail("cannot read migrations directory " + directory.string() + ": " + error.message());

  const ClassifiedNames classified = classify_file_names(file_names);
  MigrationSet set;
  set.directory = directory;
  set.ignored = classified.ignored;
  for (const auto& name : classified.ignored) {
    spdlog::warn("ignoring {}: not a migration (expected <version>_<name>.sql, e.g. 001_initial_schema.sql)",
                 (directory / name).string());
  }
  for (const auto& name : subdirectories) spdlog::debug("ignoring directory {}", (directory / name).string());
  for (const auto& name : classified.expected_extras) spdlog::debug("ignoring {}", (directory / name).string());

  set.migrations.reserve(classified.migrations.size());
  for (const auto& file : classified.migrations) {
    std::string contents = read_file(directory / file.file_name);
    std::string checksum = migration_checksum(contents);
    set.migrations.emplace_back(file, std::move(checksum), without_bom(std::move(contents)));
  }
  return set;
}

} // namespace migrate_init
