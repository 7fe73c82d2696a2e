#pragma once

#include "migrate/discovery.hpp"
#include "migrate/ledger.hpp"
#include "pg/connection.hpp"

namespace migrate_init {

// Applies one migration in its own transaction together with its ledger row: either both
// commit or neither does. Returns the file's execution time in ms. On failure, rolls back
// and throws Error(migration_failed): "migration 011_x failed: 011_x.sql:3: ERROR: ...".
long long apply_migration(pg::Connection& connection, Ledger& ledger, const LedgerInfo& info,
                          const Migration& migration);

// "011_x.sql:3: ERROR: ..." for an error in a file's text; the line is left out when the
// server gave no position. Pure.
std::string locate_error(const Migration& migration, const pg::DatabaseError& error);

} // namespace migrate_init
