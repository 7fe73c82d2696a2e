#pragma once

#include "exit_code.hpp"
#include "sql_files/discovery.hpp"
#include "sql_files/planner.hpp"

#include <string>
#include <vector>

namespace migrate_init {

struct SafetyOptions {
  bool allow_drift = false;        // a changed applied file is a warning
  bool allow_out_of_order = false; // a pending file older than the newest applied one is applied
};

// Something that stops migrating, with the exit code it ends in.
struct Problem {
  ExitCode code;
  std::string message;
};

struct SafetyReport {
  std::vector<Problem> errors;
  std::vector<std::string> warnings;
};

// Compares the files with the ledger before anything runs: unfinished no-transaction
// migrations (5), applied files that changed (5, or a warning with allow_drift), pending
// files older than the newest applied one (5, or a warning with allow_out_of_order),
// pending files that cannot run as written (1), and ledger rows without a file (a
// warning: an older image during a rolling deploy). Pure.
SafetyReport check_safety(const std::vector<Migration>& migrations, const std::vector<LedgerRow>& ledger,
                          const Plan& plan, const SafetyOptions& options);

// The `repair` advice for an unfinished migration.
std::string unfinished_message(const LedgerRow& row);

} // namespace migrate_init
