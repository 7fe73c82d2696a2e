#pragma once

#include "config.hpp"
#include "sql_files/planner.hpp"

#include <string>
#include <vector>

namespace migrate_init {

// The read-only reports: status, plan and verify. They take no lock and change nothing.

// The `status` table: VERSION, NAME, APPLIED (a time, "pending", or "unfinished: ..."),
// with "(file changed since)" and "(no file here)" notes. Pure.
std::string format_status(const std::vector<StatusEntry>& entries);

// `migrate-init status [--json]`: every migration and its state, to stdout. Returns 0.
int print_status(const Config& config);

// `migrate-init plan [--json]`: what would run, in order, with checksum and transaction
// mode, and any problem that would stop it. Returns 0, or the problems' exit code.
int print_plan(const Config& config);

// `migrate-init verify [--json]`: 0 when the database matches the files; 5 with every
// problem listed (drift, out of order, unfinished, pending, unrunnable files).
int print_verify(const Config& config);

} // namespace migrate_init
