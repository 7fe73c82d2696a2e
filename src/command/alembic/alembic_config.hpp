#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Where an Alembic project is and how it is configured, read as Alembic reads it: a
// migrations directory holding env.py, alembic.ini's [alembic] section (ConfigParser's
// rules, %(here)s interpolation) and pyproject.toml's [tool.alembic]. An option this does
// not read with certainty makes the project uncertain.
namespace migrate_init::alembic {

// Where an Alembic project's revision files are.
struct Project {
  std::filesystem::path script_dir;                 // the script directory (env.py, versions/)
  std::vector<std::filesystem::path> version_dirs;  // where revision files are read from
  bool recursive = false;                           // recursive_version_locations = true
  std::optional<std::filesystem::path> ini;         // the alembic.ini read, if any
  std::string uncertain_reason; // why the files may not be the ones Alembic reads; empty: certain
};

// Finds the Alembic project migrate-init's migrator would use. `migrations_dir` holding
// env.py and versions/ (Flask-Migrate's `migrations/`, or AUTO_MIGRATE_DIR pointed at a
// script directory) is the project; otherwise `ini_path`'s [alembic] script_location is.
// nullopt: not an Alembic project. Reads files.
std::optional<Project> find_project(const std::filesystem::path& migrations_dir,
                                    const std::filesystem::path& ini_path);

// One section of an INI file as Python's ConfigParser reads it: keys lower-cased,
// continuation lines joined with '\n', [DEFAULT] values as fallbacks. Pure.
struct IniSection {
  bool found = false;                       // the section is in the text
  std::map<std::string, std::string> values;
  std::string problem;                      // what ConfigParser would refuse (a duplicate key)
};
IniSection parse_ini_section(std::string_view text, std::string_view section);

// The [tool.alembic] table of a pyproject.toml (Alembic 1.16+ reads an option there when the
// ini lacks it), in the same form: strings and booleans ("true", "false") as they are,
// arrays of strings joined with '\n'. A value of another kind (a number, an inline table)
// is left out; a value that cannot be read is a problem. Pure.
IniSection parse_pyproject_alembic(std::string_view text);

// The bytes of a regular file; nullopt for anything else (a FIFO would block) or when it
// cannot be read. Shared with the revision graph, which reads revision files the same way.
std::optional<std::string> read_text(const std::filesystem::path& path);

// A path as a message shows it: printable, whatever bytes its name holds. Pure.
std::string shown(const std::filesystem::path& path);

} // namespace migrate_init::alembic
