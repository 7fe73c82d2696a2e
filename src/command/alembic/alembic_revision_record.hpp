#pragma once

#include "command/alembic/alembic_ahead.hpp"
#include "pipeline/ledger_name.hpp"
#include "pg/connection.hpp"

#include <string>
#include <vector>

namespace migrate_init {

// The revisions images have known, kept so that an older image can tell a database ahead of
// it from one at a revision nobody knows (alembic_ahead.hpp): `migrate_init_alembic_revisions`
// beside the ledger (AUTO_MIGRATE_TABLE's schema, else on search_path), one row per Alembic
// version table and revision.
LedgerName revision_record_table(const LedgerName& ledger);

// The revisions recorded for `version_table` (as configured, AUTO_MIGRATE_ALEMBIC_VERSION_TABLE);
// none when the table does not exist. Two round trips; asked only when alembic_version names
// a revision these files lack, so the fast path's one query stays one.
std::vector<alembic::RecordedRevision> read_recorded_revisions(pg::Connection& connection, const LedgerName& table,
                                                               const std::string& version_table);

// Adds the revisions not recorded yet for `version_table`, in one INSERT (creating the table
// on first use); a revision already there is left as it is.
void record_revisions(pg::Connection& connection, const LedgerName& table, const std::string& version_table,
                      const std::vector<alembic::RecordedRevision>& revisions);

} // namespace migrate_init
