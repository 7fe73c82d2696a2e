#pragma once

#include "config.hpp"

namespace migrate_init {

// Deliberate fixes, run by hand under the migration lock; start-up never does these.

// `migrate-init repair VERSION --applied|--retry`: resolves an unfinished no-transaction
// migration, either by recording it as applied (it was completed by hand) or by resuming
// it at the statement that failed. Returns the exit code.
int repair(const Config& config);

// `migrate-init rollback [--to VERSION]`: runs the `-- migrate:down` sections of the
// latest applied migrations (just the latest one, or all after VERSION), newest first,
// each in a transaction with the removal of its ledger row. Refuses before doing anything
// when a file or its down section is missing. Returns the exit code.
int rollback(const Config& config);

} // namespace migrate_init
