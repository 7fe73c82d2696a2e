#include "migrate/discovery.hpp"

#include "error.hpp"
#include "migrate/checksum.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace migrate_init {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(ExitCode::migration_failed, message); }

// One open, one fstat and one read per file (the no-op start of a 1000-file set reads
// them all). O_NONBLOCK and the fstat check keep a FIFO or device named like a migration
// from blocking the open or never ending, at a moment when stop signals are taken over.
std::string read_file(const std::filesystem::path& path) {
  const auto failure = [&](const std::string& why) { fail("cannot read migration " + path.string() + ": " + why); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) failure(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) failure(std::strerror(errno));
  if (!S_ISREG(info.st_mode)) failure("not a regular file");
  // The size fstat gave: a file rewritten while migrate-init starts is a race no reader wins.
  std::string contents(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t filled = 0;
  while (filled < contents.size()) {
    const ssize_t got = ::read(fd, contents.data() + filled, contents.size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) failure(std::strerror(errno));
    if (got == 0) break;
    filled += static_cast<std::size_t>(got);
  }
  contents.resize(filled);
  return contents;
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
