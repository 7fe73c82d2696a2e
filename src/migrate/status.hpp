#pragma once

#include "config.hpp"
#include "migrate/planner.hpp"

#include <string>
#include <vector>

namespace migrate_init {

// The `status` table: VERSION, NAME, APPLIED (a time, or "pending"). Pure.
std::string format_status(const std::vector<StatusEntry>& entries);

// `migrate-init status`: reads the files and the ledger (no lock, no changes) and prints
// the table to stdout. Throws Error like migrate().
void print_status(const Config& config);

} // namespace migrate_init
