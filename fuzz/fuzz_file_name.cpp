// Fuzzes migration file names: the input is a directory listing, one name per line.
//
// Invariants (a broken one traps, which libFuzzer reports as a crash):
//   parse_migration_file_name: a parsed name has digits for a version, a non-empty name,
//     keeps the file name, and id() + ".sql" gives the file name back
//   normalized_version: digits without leading zeros ("0" for all zeros), the same version
//   compare_versions: reflexive, antisymmetric and transitive, on any strings
//   classify_file_names: throws migrate_init::Error exactly when two migrations share a
//     version (an expected error); otherwise every name lands in one list, migrations in
//     strictly increasing version order and the ignored names sorted

#include "error.hpp"
#include "sql_files/migration_file.hpp"
#include "text.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int sign(int value) { return (value > 0) - (value < 0); }

void check_version(const std::string& version) {
  const std::string normal = migrate_init::normalized_version(version);
  check(all_digits(normal));
  check(normal == "0" || normal.front() != '0');
  check(normal.size() <= version.size());
  check(migrate_init::compare_versions(version, normal) == 0);
  check(migrate_init::compare_versions(normal, version) == 0);
  check(migrate_init::normalized_version(normal) == normal);
}

void check_order(std::string_view a, std::string_view b, std::string_view c) {
  const int ab = sign(migrate_init::compare_versions(a, b));
  const int ba = sign(migrate_init::compare_versions(b, a));
  const int bc = sign(migrate_init::compare_versions(b, c));
  const int ac = sign(migrate_init::compare_versions(a, c));
  check(migrate_init::compare_versions(a, a) == 0);
  check(ab == -ba);
  if (ab == bc) check(ac == ab); // a<b<c, a=b=c, a>b>c
  if (ab == 0) check(ac == bc);  // equal versions order alike
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> names;
  for (std::size_t start = 0;;) {
    const std::size_t newline = input.find('\n', start);
    names.emplace_back(input.substr(start, newline == std::string_view::npos ? std::string_view::npos : newline - start));
    if (newline == std::string_view::npos) break;
    start = newline + 1;
  }

  std::set<std::string> versions; // normalized, of the names that parse
  bool duplicate = false;
  bool not_utf8 = false; // a migration name that is not UTF-8: refused as a whole
  std::size_t migrations = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (const auto parsed = migrate_init::parse_migration_file_name(name)) {
      ++migrations;
      check(all_digits(parsed->version));
      check(!parsed->name.empty());
      check(parsed->file_name == name);
      check(parsed->id() + ".sql" == name);
      check_version(parsed->version);
      if (!versions.insert(migrate_init::normalized_version(parsed->version)).second) duplicate = true;
      if (!migrate_init::is_valid_utf8(name)) not_utf8 = true;
    }
    // Raw lines as versions too: compare_versions must order any strings consistently.
    check_order(name, names[(i + 1) % names.size()], names[(i + 2) % names.size()]);
  }

  try {
    const auto classified = migrate_init::classify_file_names(names);
    check(!duplicate && !not_utf8);
    check(classified.migrations.size() == migrations);
    check(classified.migrations.size() + classified.ignored.size() + classified.expected_extras.size() ==
          names.size());
    for (std::size_t i = 1; i < classified.migrations.size(); ++i) {
      check(migrate_init::compare_versions(classified.migrations[i - 1].version, classified.migrations[i].version) < 0);
    }
    check(std::is_sorted(classified.ignored.begin(), classified.ignored.end()));
    for (const auto& extra : classified.expected_extras) check(!extra.empty());
  } catch (const migrate_init::Error& e) {
    // Two files with one version, or a migration name that is not UTF-8: the only reasons to throw.
    check(duplicate || not_utf8);
    check(e.code() == migrate_init::ExitCode::migration_failed);
  }
  return 0;
}
