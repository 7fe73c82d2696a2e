#include "sql_files/discovery.hpp"

#include "error.hpp"
#include "pipeline/checksum.hpp"
#include "text.hpp"

#include <spdlog/spdlog.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace migrate_init {
namespace {

constexpr std::size_t k_piece = std::size_t{1} << 16; // read and hashed 64 KiB at a time
constexpr std::string_view k_bom = "\xEF\xBB\xBF";

[[noreturn]] void fail(const std::string& message) { throw Error(ExitCode::migration_failed, message); }

// A path for a message: a name that is not UTF-8 must not make the log line (or the JSON
// log) invalid too.
std::string shown(const std::filesystem::path& path) { return printable(path.string()); }

// A migration file: a name in a directory.
struct FileAt {
  const MigrationDirectory& directory;
  const std::string& name;

  std::filesystem::path path() const { return directory.path / name; } // for messages
};

// Resolves a migration's symbolic links and refuses a real path outside the directory. A
// link may point anywhere inside it (a Kubernetes ConfigMap volume is made of such links),
// but `002_x.sql -> /etc/shadow` would send that file to the server, and to its log.
std::filesystem::path resolve(const FileAt& file) {
  std::error_code error;
  std::filesystem::path real = std::filesystem::canonical(file.path(), error);
  if (error) fail("cannot read migration " + shown(file.path()) + ": " + error.message());
  if (!is_inside(file.directory.real_path, real)) {
    fail("refusing migration " + shown(file.path()) + ": it is a symbolic link that resolves to " + shown(real) +
         ", outside the migrations directory " + shown(file.directory.real_path) +
         " (links are followed only within it; copy the file in instead)");
  }
  return real;
}

constexpr int k_open_flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW;

// Opens a migration at its real path. A file that is not a link is opened by its name in
// the directory's real path, which is its real path (no canonical() per file: a thousand
// files are opened at every start). A link makes that open fail with ELOOP (O_NOFOLLOW):
// it is resolved, and refused when it leads out of the directory.
int open_real(const FileAt& file) {
  const std::string direct = file.directory.real_path.native() + '/' + file.name;
  const int fd = ::open(direct.c_str(), k_open_flags);
  if (fd >= 0 || errno != ELOOP) return fd;
  return ::open(resolve(file).c_str(), k_open_flags);
}

// A migration file, opened at its real path, closed on destruction.
class MigrationFile {
public:
  // O_NONBLOCK and the fstat check keep a FIFO or device named like a migration from
  // blocking the open or never ending, at a moment when stop signals are taken over.
  // O_NOFOLLOW: the real path has no link left to follow, unless one was put there since.
  explicit MigrationFile(const FileAt& file) : m_file(file) {
    m_fd = open_real(file);
    if (m_fd < 0) failure(std::strerror(errno));
    struct stat info {};
    if (::fstat(m_fd, &info) != 0) failure(std::strerror(errno));
    if (!S_ISREG(info.st_mode)) failure("not a regular file");
    m_left = static_cast<std::size_t>(info.st_size);
  }
  ~MigrationFile() {
    if (m_fd >= 0) ::close(m_fd);
  }
  MigrationFile(const MigrationFile&) = delete;
  MigrationFile& operator=(const MigrationFile&) = delete;

  // What is left to read of the size fstat gave: a file rewritten while migrate-init reads
  // it is a race no reader wins, and the checksum of the second read tells (script()).
  std::size_t left() const { return m_left; }

  // Reads up to `size` bytes; 0 at the end.
  std::size_t read(char* buffer, std::size_t size) {
    size = std::min(size, m_left);
    while (size > 0) {
      const ssize_t got = ::read(m_fd, buffer, size);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) failure(std::strerror(errno));
      m_left = got == 0 ? 0 : m_left - static_cast<std::size_t>(got);
      return static_cast<std::size_t>(got);
    }
    return 0;
  }

private:
  [[noreturn]] void failure(const std::string& why) const {
    fail("cannot read migration " + shown(m_file.path()) + ": " + why);
  }

  FileAt m_file;
  int m_fd = -1;
  std::size_t m_left = 0;
};

// The checksum of a file, read and hashed a piece at a time: a start with nothing pending
// holds no file's text.
std::string checksum_of(const FileAt& at) {
  MigrationFile file(at);
  MigrationHasher hasher;
  char piece[k_piece];
  while (const std::size_t got = file.read(piece, sizeof piece)) hasher.update({piece, got});
  return hasher.finish();
}

// The file's text without a BOM, read whole: the one copy a pending file's script is made
// from. Throws when the file is not the one checksummed: what runs must be what the
// ledger records.
std::string unchanged_text(const FileAt& at, const std::string& checksum) {
  MigrationFile file(at);
  std::string text(file.left(), '\0');
  std::size_t filled = 0;
  while (const std::size_t got = file.read(text.data() + filled, text.size() - filled)) filled += got;
  text.resize(filled);
  MigrationHasher hasher;
  hasher.update(text);
  const std::string now = hasher.finish();
  if (now != checksum) {
    fail(shown(at.path()) + " changed while migrate-init was running: its checksum was " + checksum +
         " when the migrations were read, and is " + now + " now; not applying it (the next start reads it afresh)");
  }
  if (text.starts_with(k_bom)) text.erase(0, k_bom.size());
  return text;
}

void check_directory(const std::filesystem::path& directory) {
  std::error_code error;
  const auto status = std::filesystem::status(directory, error);
  if (error || !std::filesystem::exists(status)) {
    fail("migrations directory " + shown(directory) + " does not exist (set AUTO_MIGRATE_DIR or --dir)");
  }
  if (!std::filesystem::is_directory(status)) fail("migrations directory " + shown(directory) + " is not a directory");
}

struct Entries {
  std::vector<std::string> files;
  std::vector<std::string> subdirectories;
};

// A directory stream, closed on destruction.
class DirectoryStream {
public:
  explicit DirectoryStream(const std::filesystem::path& directory) : m_dir(::opendir(directory.c_str())) {}
  ~DirectoryStream() {
    if (m_dir) ::closedir(m_dir);
  }
  DirectoryStream(const DirectoryStream&) = delete;
  DirectoryStream& operator=(const DirectoryStream&) = delete;

  DIR* get() const { return m_dir; }

private:
  DIR* m_dir;
};

[[noreturn]] void unreadable_directory(const std::filesystem::path& directory, int error) {
  fail("cannot read migrations directory " + shown(directory) + ": " + std::generic_category().message(error));
}

// Whether a directory entry is a directory, following a symbolic link; the entry's type
// saves a stat for most entries. An entry that cannot be stat'ed (a dangling link) counts
// as a file: opening it, if it is named like a migration, says what is wrong with it.
bool is_directory_entry(DIR* stream, const dirent& entry) {
  if (entry.d_type == DT_DIR) return true;
  if (entry.d_type != DT_LNK && entry.d_type != DT_UNKNOWN) return false;
  struct stat info {};
  return ::fstatat(::dirfd(stream), entry.d_name, &info, 0) == 0 && S_ISDIR(info.st_mode);
}

// The directory's entries, with readdir rather than std::filesystem::directory_iterator,
// which builds a path object for each.
Entries list_directory(const std::filesystem::path& directory) {
  const DirectoryStream stream(directory);
  if (!stream.get()) unreadable_directory(directory, errno);
  Entries entries;
  errno = 0;
  while (const dirent* entry = ::readdir(stream.get())) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      (is_directory_entry(stream.get(), *entry) ? entries.subdirectories : entries.files).emplace_back(name);
    }
    errno = 0;
  }
  if (errno != 0) unreadable_directory(directory, errno);
  return entries;
}

std::filesystem::path real_path_of(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::path real = std::filesystem::canonical(directory, error);
  if (error) fail("cannot read migrations directory " + shown(directory) + ": " + error.message());
  return real;
}

void log_set_aside(const std::filesystem::path& directory, const ClassifiedNames& classified,
                   const std::vector<std::string>& subdirectories) {
  for (const auto& name : classified.ignored) {
    spdlog::warn("ignoring {}: not a migration (expected <version>_<name>.sql, e.g. 001_initial_schema.sql)",
                 shown(directory / name));
  }
  for (const auto& name : subdirectories) spdlog::debug("ignoring directory {}", shown(directory / name));
  for (const auto& name : classified.expected_extras) spdlog::debug("ignoring {}", shown(directory / name));
}

} // namespace

Migration::Migration(MigrationFileName file_, std::string checksum_, std::shared_ptr<const MigrationDirectory> directory)
    : file(std::move(file_)), checksum(std::move(checksum_)), m_directory(std::move(directory)) {}

Migration::Migration(MigrationFileName file_, std::string checksum_, MigrationScript script)
    : file(std::move(file_)), checksum(std::move(checksum_)),
      m_script(std::make_shared<const MigrationScript>(std::move(script))) {}

const MigrationScript& Migration::script() const {
  if (!m_script) {
    m_script = std::make_shared<const MigrationScript>(
        parse_migration_script_in_place(file.file_name, unchanged_text({*m_directory, file.file_name}, checksum)));
  }
  return *m_script;
}

std::vector<MigrationFileName> MigrationSet::file_names() const {
  std::vector<MigrationFileName> names;
  names.reserve(migrations.size());
  for (const auto& migration : migrations) names.push_back(migration.file);
  return names;
}

MigrationListing list_migrations(const std::filesystem::path& directory) {
  check_directory(directory);
  const Entries entries = list_directory(directory);
  MigrationListing listing;
  listing.directory = std::make_shared<const MigrationDirectory>(MigrationDirectory{directory, real_path_of(directory)});
  ClassifiedNames classified = classify_file_names(entries.files);
  log_set_aside(directory, classified, entries.subdirectories);
  listing.files = std::move(classified.migrations);
  listing.ignored = std::move(classified.ignored);
  return listing;
}

MigrationSet checksum_migrations(MigrationListing listing) {
  MigrationSet set;
  set.directory = listing.directory->path;
  set.ignored = std::move(listing.ignored);
  set.migrations.reserve(listing.files.size());
  for (auto& file : listing.files) {
    std::string checksum = checksum_of({*listing.directory, file.file_name});
    set.migrations.emplace_back(std::move(file), std::move(checksum), listing.directory);
  }
  return set;
}

MigrationSet load_migrations(const std::filesystem::path& directory) {
  return checksum_migrations(list_migrations(directory));
}

bool is_inside(const std::filesystem::path& directory, const std::filesystem::path& path) {
  auto inner = path.begin();
  for (const auto& part : directory) {
    if (part.empty()) continue; // a trailing separator
    if (inner == path.end() || *inner != part) return false;
    ++inner;
  }
  return inner != path.end() && !inner->empty();
}

} // namespace migrate_init
