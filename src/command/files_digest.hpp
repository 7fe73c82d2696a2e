#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace migrate_init {

// A digest of every regular file under `dir` (recursively; __pycache__, node_modules and
// dot-directories skipped): their paths relative to `dir`, in byte order, and their bytes.
// A file added, removed, renamed or changed gives another digest; the same files give the
// same digest wherever the directory is. nullopt when `dir` is not a readable directory.
std::optional<std::string> migration_files_digest(const std::filesystem::path& dir);

// One digest of the files under every one of `dirs`, in that order (an Alembic project's
// script directory and version locations); nullopt when one is not a readable directory.
std::optional<std::string> migration_files_digest(const std::vector<std::filesystem::path>& dirs);

} // namespace migrate_init
