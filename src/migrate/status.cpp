#include "migrate/status.hpp"

#include "migrate/discovery.hpp"
#include "migrate/ledger.hpp"
#include "pg/connect.hpp"

#include <algorithm>
#include <iostream>

namespace migrate_init {

std::string format_status(const std::vector<StatusEntry>& entries) {
  std::size_t version_width = 7, name_width = 4;
  for (const auto& entry : entries) {
    version_width = std::max(version_width, entry.version.size());
    name_width = std::max(name_width, entry.name.size());
  }
  const auto row = [&](const std::string& version, const std::string& name, const std::string& applied) {
    std::string line = version + std::string(version_width - version.size() + 2, ' ') + name +
                       std::string(name_width - name.size() + 2, ' ') + applied;
    return line + "\n";
  };
  std::string out = row("VERSION", "NAME", "APPLIED");
  for (const auto& entry : entries) {
    std::string applied = entry.applied_at.value_or("pending");
    if (entry.file_missing) applied += " (no file here)";
    out += row(entry.version, entry.name, applied);
  }
  return out;
}

void print_status(const Config& config) {
  const MigrationSet set = load_migrations(config.migrations_dir);
  pg::Connection connection = pg::connect_with_wait(
      {config.database_url, config.database_url_source, config.wait, pg::default_application_name()});
  Ledger ledger(connection, config.ledger);
  const std::vector<LedgerRow> rows = ledger.read(ledger.inspect());
  std::cout << format_status(status_entries(set.file_names(), rows)) << std::flush;
}

} // namespace migrate_init
