#pragma once

#include "sql_files/migration_file.hpp"

#include <optional>
#include <string>
#include <vector>

namespace migrate_init {

// One row of the ledger, as read.
struct LedgerRow {
  std::string version; // digits, as recorded
  std::string name;
  std::optional<std::string> checksum; // absent in rows adopted from a seed-style ledger
  std::string applied_at;              // as the server formats timestamptz
  std::string state = "applied";       // "applied", or "running": a no-transaction file not finished
  int statements_done = 0;             // no-transaction files: statements completed
  int statements_total = 0;
  std::optional<std::string> last_error; // why an unfinished migration stopped

  bool finished() const { return state == "applied"; }
};

// What to do, given the files on disk and the ledger.
struct Plan {
  std::vector<std::size_t> pending;        // indices into the files, in version order
  std::size_t applied = 0;                 // files already recorded in the ledger
  std::vector<LedgerRow> without_file;     // ledger rows with no file: the database is ahead
};

// Pending = every file whose version has no ledger row. Pure.
Plan plan_migrations(const std::vector<MigrationFileName>& files, const std::vector<LedgerRow>& ledger);

// One line of `migrate-init status`.
struct StatusEntry {
  std::string version;
  std::string name;
  std::optional<std::string> applied_at; // nullopt: pending
  bool file_missing = false;             // recorded, but no file on disk
  const LedgerRow* row = nullptr;        // the ledger row, if any
  bool file_changed = false;             // the file's checksum differs from the ledger's
  bool unchecked = false;                // applied, with its file here, but no checksum in its row
};

// Files and ledger rows merged in version order. Pure.
std::vector<StatusEntry> status_entries(const std::vector<MigrationFileName>& files,
                                        const std::vector<LedgerRow>& ledger);

} // namespace migrate_init
