#pragma once

#include "migrate/migration_file.hpp"
#include "migrate/migration_script.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace migrate_init {

// One migration file, read and checksummed.
struct Migration {
  MigrationFileName file;
  std::string checksum;   // migration_checksum() of the file
  MigrationScript script; // what runs, how, and what is wrong with it
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
