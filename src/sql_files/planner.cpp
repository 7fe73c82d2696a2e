#include "sql_files/planner.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace migrate_init {
namespace {

// Ledger rows keyed by numeric version, so "001" on disk matches "1" in the ledger.
std::map<std::string, const LedgerRow*> index_by_version(const std::vector<LedgerRow>& ledger) {
  std::map<std::string, const LedgerRow*> index;
  for (const auto& row : ledger) index.emplace(normalized_version(row.version), &row);
  return index;
}

// The files' versions, normalised once: looking each ledger row up must not cost a pass
// over every file (1000 files x 1000 rows at every start-up).
std::set<std::string> file_versions(const std::vector<MigrationFileName>& files) {
  std::set<std::string> versions;
  for (const auto& file : files) versions.insert(normalized_version(file.version));
  return versions;
}

} // namespace

Plan plan_migrations(const std::vector<MigrationFileName>& files, const std::vector<LedgerRow>& ledger) {
  const auto applied = index_by_version(ledger);
  Plan plan;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (applied.count(normalized_version(files[i].version))) {
      ++plan.applied;
    } else {
      plan.pending.push_back(i);
    }
  }
  const auto versions = file_versions(files);
  for (const auto& row : ledger) {
    if (!versions.count(normalized_version(row.version))) plan.without_file.push_back(row);
  }
  return plan;
}

std::vector<StatusEntry> status_entries(const std::vector<MigrationFileName>& files,
                                        const std::vector<LedgerRow>& ledger) {
  const auto applied = index_by_version(ledger);
  std::vector<StatusEntry> entries;
  for (const auto& file : files) {
    const auto row = applied.find(normalized_version(file.version));
    const LedgerRow* recorded = row == applied.end() ? nullptr : row->second;
    entries.push_back(StatusEntry{file.version, file.name,
                                  recorded ? std::optional(recorded->applied_at) : std::nullopt, false, recorded,
                                  false});
  }
  const auto versions = file_versions(files);
  for (const auto& row : ledger) {
    if (!versions.count(normalized_version(row.version))) entries.push_back(StatusEntry{row.version, row.name, row.applied_at, true, &row, false});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return compare_versions(a.version, b.version) < 0; });
  return entries;
}

} // namespace migrate_init
