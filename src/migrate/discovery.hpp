#pragma once

#include "migrate/migration_file.hpp"
#include "migrate/migration_script.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace migrate_init {

// One migration file, read and checksummed.
class Migration {
public:
  // A file read from disk; its script is parsed when first needed, so a start-up with
  // nothing pending never splits the files it only checksums.
  Migration(MigrationFileName file_, std::string checksum_, std::string text);
  // A file whose script is already parsed (tests).
  Migration(MigrationFileName file_, std::string checksum_, MigrationScript script);

  // What runs, how, and what is wrong with it.
  const MigrationScript& script() const;

  MigrationFileName file;
  std::string checksum; // migration_checksum() of the file

private:
  mutable std::string m_text; // the file without a leading BOM, until parsed
  mutable std::shared_ptr<const MigrationScript> m_script;
};

// Every migration of a directory, in version order.
struct MigrationSet {
  std::filesystem::path directory;
  std::vector<Migration> migrations;
  std::vector<std::string> ignored; // not migrations; a warning was logged for each

  std::vector<MigrationFileName> file_names() const;
};

// Reads and parses the migrations directory. Missing or unreadable directory or file, or
// two files with one version: Error(migration_failed), before any connection is made.
// Problems inside a file (script.problems) are reported only if the file is pending.
MigrationSet load_migrations(const std::filesystem::path& directory);

} // namespace migrate_init
