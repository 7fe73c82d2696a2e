#pragma once

#include "sql_files/migration_file.hpp"
#include "sql_files/migration_script.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace migrate_init {

// The directory migration files are read from, shared by all of its migrations: a file
// keeps only its name.
struct MigrationDirectory {
  std::filesystem::path path;      // as configured
  std::filesystem::path real_path; // its real path: a file must resolve inside it
};

// One migration file, checksummed.
class Migration {
public:
  // A file on disk, checksummed as it was read. Its text is not kept: it is read again when
  // the script is first needed (a pending file), and must still have this checksum.
  Migration(MigrationFileName file_, std::string checksum_, std::shared_ptr<const MigrationDirectory> directory);
  // A file whose script is already parsed (tests).
  Migration(MigrationFileName file_, std::string checksum_, MigrationScript script);

  // What runs, how, and what is wrong with it. Reading the file again can throw Error
  // (migration failed): unreadable now, or changed since it was checksummed.
  const MigrationScript& script() const;

  MigrationFileName file;
  std::string checksum; // migration_checksum() of the file

private:
  std::shared_ptr<const MigrationDirectory> m_directory; // null for a script given whole
  mutable std::shared_ptr<const MigrationScript> m_script;
};

// Every migration of a directory, in version order.
struct MigrationSet {
  std::filesystem::path directory;
  std::vector<Migration> migrations;
  std::vector<std::string> ignored; // not migrations; a warning was logged for each

  std::vector<MigrationFileName> file_names() const;
};

// The migrations directory listed, its migrations named and ordered, none read yet.
struct MigrationListing {
  std::shared_ptr<const MigrationDirectory> directory;
  std::vector<MigrationFileName> files; // in version order
  std::vector<std::string> ignored;     // not migrations; a warning was logged for each
};

// Lists the migrations directory. Missing or unreadable directory, a name that is not
// UTF-8, or two files with one version: Error(migration_failed). Cheap: no file is opened.
MigrationListing list_migrations(const std::filesystem::path& directory);

// Checksums the listed files, holding no file's text. An unreadable file, or one whose
// real path is outside the directory (a symbolic link out of it): Error(migration_failed).
// Problems inside a file (script.problems) are reported only if the file is pending.
// Logs nothing, so that it may run on another thread (pipeline/files_while_connecting.hpp).
MigrationSet checksum_migrations(MigrationListing listing);

// Both, in turn: every error above before any connection is made.
MigrationSet load_migrations(const std::filesystem::path& directory);

// Whether `path` is inside `directory`, both real absolute paths, compared by whole
// components: /m/a.sql and /m/sub/a.sql are inside /m; /m2/a.sql and /m are not. Pure.
bool is_inside(const std::filesystem::path& directory, const std::filesystem::path& path);

} // namespace migrate_init
