#include "command/files_digest.hpp"

#include "pipeline/checksum.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

namespace migrate_init {
namespace {

bool skipped_directory(const std::filesystem::path& name) {
  const std::string text = name.string();
  return text == "__pycache__" || text == "node_modules" || (!text.empty() && text[0] == '.');
}

} // namespace

std::optional<std::string> migration_files_digest(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(dir, error)) return std::nullopt;
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, error), end;
  if (error) return std::nullopt;
  for (; it != end; it.increment(error)) {
    if (error) return std::nullopt;
    if (it->is_directory(error) && skipped_directory(it->path().filename())) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error)) files.push_back(fs::relative(it->path(), dir, error).generic_string());
  }
  std::sort(files.begin(), files.end());
  // Each file as its length-prefixed name and its own sha256: no two sets of files hash
  // the same text, and no file is held in memory with another.
  std::string listing;
  for (const auto& file : files) {
    std::ifstream in(dir / file, std::ios::binary);
    if (!in) return std::nullopt;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    listing += std::to_string(file.size()) + ":" + file + " " + sha256_hex(bytes) + "\n";
  }
  return sha256_hex(listing);
}

std::optional<std::string> migration_files_digest(const std::vector<std::filesystem::path>& dirs) {
  std::string digests;
  for (const auto& dir : dirs) {
    const auto digest = migration_files_digest(dir);
    if (!digest) return std::nullopt;
    digests += *digest + "\n";
  }
  return sha256_hex(digests);
}

} // namespace migrate_init
