#include "sql_files/migration_file.hpp"

#include "error.hpp"
#include "text.hpp"

#include <algorithm>
#include <cctype>

namespace migrate_init {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_expected_extra(std::string_view file_name) {
  const std::string lower = lowercase(file_name);
  return lower.rfind("readme", 0) == 0 || lower.front() == '.';
}

std::string quoted_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "\"" : ", \"") + printable(name) + "\"";
  return out;
}

} // namespace

std::optional<MigrationFileName> parse_migration_file_name(std::string_view file_name) {
  constexpr std::string_view k_suffix = ".sql";
  if (file_name.size() <= k_suffix.size() || file_name.substr(file_name.size() - k_suffix.size()) != k_suffix) {
    return std::nullopt;
  }
  const std::string_view stem = file_name.substr(0, file_name.size() - k_suffix.size());
  const std::size_t underscore = stem.find('_');
  if (underscore == std::string_view::npos) return std::nullopt;
  const std::string_view version = stem.substr(0, underscore);
  const std::string_view name = stem.substr(underscore + 1);
  if (!all_digits(version) || name.empty()) return std::nullopt;
  return MigrationFileName{std::string(version), std::string(name), std::string(file_name)};
}

std::string normalized_version(std::string_view digits) {
  const std::size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string("0") : std::string(digits.substr(first));
}

int compare_versions(std::string_view a, std::string_view b) {
  // normalized_version() without its copies: sorting a thousand files compares often.
  const auto significant = [](std::string_view digits) {
    const std::size_t first = digits.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view("0") : digits.substr(first);
  };
  const std::string_view x = significant(a);
  const std::string_view y = significant(b);
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  const int order = x.compare(y);
  return order < 0 ? -1 : (order == 0 ? 0 : 1);
}

ClassifiedNames classify_file_names(const std::vector<std::string>& file_names) {
  ClassifiedNames result;
  std::vector<std::string> not_utf8;
  for (const auto& file_name : file_names) {
    if (auto parsed = parse_migration_file_name(file_name)) {
      // The name goes into the ledger and into JSON: found now, rather than when the
      // server refuses its ledger row after the files before it were applied.
      if (!is_valid_utf8(file_name)) not_utf8.push_back(file_name);
      result.migrations.push_back(std::move(*parsed));
    } else if (!file_name.empty() && is_expected_extra(file_name)) {
      result.expected_extras.push_back(file_name);
    } else {
      result.ignored.push_back(file_name);
    }
  }
  if (!not_utf8.empty()) {
    std::sort(not_utf8.begin(), not_utf8.end());
    throw Error(ExitCode::migration_failed,
                std::string(not_utf8.size() == 1 ? "a migration file name is" : "migration file names are") +
                    " not valid UTF-8: " + quoted_names(not_utf8) +
                    " (bytes that are not UTF-8 shown as \\xHH); rename the file: its name is recorded in the "
                    "ledger and printed in JSON, which take UTF-8 only");
  }
  // Ties broken by file name so the duplicate message is the same on every machine.
  std::sort(result.migrations.begin(), result.migrations.end(), [](const auto& a, const auto& b) {
    const int order = compare_versions(a.version, b.version);
    return order != 0 ? order < 0 : a.file_name < b.file_name;
  });
  for (std::size_t i = 1; i < result.migrations.size(); ++i) {
    const auto& previous = result.migrations[i - 1];
    const auto& current = result.migrations[i];
    if (compare_versions(previous.version, current.version) == 0) {
      throw Error(ExitCode::migration_failed, "two migrations have version " + normalized_version(current.version) +
                                                  ": " + printable(previous.file_name) + " and " + printable(current.file_name));
    }
  }
  std::sort(result.ignored.begin(), result.ignored.end());
  return result;
}

} // namespace migrate_init
