#pragma once

#include "config.hpp"
#include "sql_files/discovery.hpp"
#include "sql_files/planner.hpp"

#include <string>
#include <vector>

namespace migrate_init {

// The required migrations (AUTO_MIGRATE_REQUIRED entries: "001_initial_schema", a bare
// version "001", or "all" for every file) that the ledger does not show as applied, as
// the user named them. Pure.
std::vector<std::string> missing_required(const std::vector<std::string>& required,
                                          const std::vector<MigrationFileName>& files,
                                          const std::vector<LedgerRow>& ledger);

// The files not yet applied with a matching checksum, by id. Pure.
std::vector<std::string> schema_gaps(const std::vector<Migration>& migrations, const std::vector<LedgerRow>& ledger);

// Before the service starts: with AUTO_MIGRATE=false and AUTO_MIGRATE_WAIT_FOR_SCHEMA,
// polls until every file is applied with a matching checksum; with AUTO_MIGRATE_REQUIRED,
// checks the required migrations are applied. Either failing throws Error(refused):
// exit 5, whatever FAIL_ON_ERROR says. Does nothing (and never connects) when neither is set.
void enforce_boot_contract(const Config& config);

} // namespace migrate_init
