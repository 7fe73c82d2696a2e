#include "migrate/planner.hpp"

#include <algorithm>
#include <map>

namespace migrate_init {
namespace {

// Ledger rows keyed by numeric version, so "001" on disk matches "1" in the ledger.
std::map<std::string, const LedgerRow*> index_by_version(const std::vector<LedgerRow>& ledger) {
  std::map<std::string, const LedgerRow*> index;
  for (const auto& row : ledger) index.emplace(normalized_version(row.version), &row);
  return index;
}

bool has_file(const std::vector<MigrationFileName>& files, const std::string& version) {
  return std::any_of(files.begin(), files.end(),
                     [&](const auto& file) { return compare_versions(file.version, version) == 0; });
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
  for (const auto& row : ledger) {
    if (!has_file(files, row.version)) plan.without_file.push_back(row);
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
  for (const auto& row : ledger) {
    if (!has_file(files, row.version)) entries.push_back(StatusEntry{row.version, row.name, row.applied_at, true, &row, false});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return compare_versions(a.version, b.version) < 0; });
  return entries;
}

} // namespace migrate_init
