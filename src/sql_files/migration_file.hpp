#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// A migration file's name, understood: `<version>_<name>.sql`, version being digits.
struct MigrationFileName {
  std::string version;   // digits as written, "001"
  std::string name;      // "initial_schema"
  std::string file_name; // "001_initial_schema.sql"

  // The file name without ".sql", as seed-style ledgers record it: "001_initial_schema".
  std::string id() const { return version + "_" + name; }
};

// Parses a file name; nullopt when it does not follow `<version>_<name>.sql`.
std::optional<MigrationFileName> parse_migration_file_name(std::string_view file_name);

// A version's numeric identity: digits without leading zeros ("007" and "7" are one version).
std::string normalized_version(std::string_view digits);

// Orders versions by numeric value, whatever their length: <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);

// The result of sorting a directory's file names.
struct ClassifiedNames {
  std::vector<MigrationFileName> migrations; // in version order
  std::vector<std::string> ignored;          // names that are not migrations, to warn about
  std::vector<std::string> expected_extras;  // READMEs and dotfiles: ignored quietly
};

// Sorts file names into migrations (in version order) and the rest. Throws Error
// (migration failed) naming both files when two share a version, and naming every
// migration whose name is not UTF-8 (the ledger and JSON take UTF-8 only). Pure.
ClassifiedNames classify_file_names(const std::vector<std::string>& file_names);

} // namespace migrate_init
