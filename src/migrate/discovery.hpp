#pragma once

#include "migrate/migration_file.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace migrate_init {

// One migration file, read and checksummed.
struct Migration {
  MigrationFileName file;
  std::string sql;      // what is sent to the server: the file without a leading BOM
  std::string checksum; // migration_checksum() of the file
};

// Every migration of a directory, in version order.
struct MigrationSet {
  std::filesystem::path directory;
  std::vector<Migration> migrations;
  std::vector<std::string> ignored; // not migrations; a warning was logged for each

  std::vector<MigrationFileName> file_names() const;
};

// Reads the migrations directory. Missing or unreadable directory or file, or two files
// with one version: Error(migration_failed), before any connection is made.
MigrationSet load_migrations(const std::filesystem::path& directory);

} // namespace migrate_init
