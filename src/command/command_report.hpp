#pragma once

#include "config.hpp"

namespace migrate_init {

// `status`, `plan` and `verify` in command mode: what migrate-init can tell without running
// the migrator. For an Alembic project: the heads of the revision files, the revisions in
// alembic_version, and the revisions still to apply; for any other command: whether its
// last recorded success had the files there are now. `verify` exits 0 when nothing is
// pending and 5 otherwise; `status` and `plan` exit 0. Per tenant schema with tenants.
int print_command_report(const Config& config);

} // namespace migrate_init
