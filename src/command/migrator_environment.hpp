#pragma once

#include <optional>
#include <string>
#include <vector>

namespace migrate_init {

// What migrate-init adds to the service's environment for the migrator.
struct MigratorEnvironmentInputs {
  std::string database_url;                 // the migration URL as given; empty: DATABASE_URL left as it is
  std::string application_name;             // PGAPPNAME: tags the migrator's sessions for the cleanup
  std::optional<std::string> tenant_schema; // AUTO_MIGRATE_SCHEMA, with tenants
  // Whether the server knows client_connection_check_interval (PostgreSQL 14+); an older
  // one refuses a connection whose PGOPTIONS names an unknown setting.
  bool check_client_connection = false;
  // The options migrate-init's own session connected with (libpq's reading of the URL, a
  // service file and PGOPTIONS): kept when the check has to go into a URL that names a service.
  std::string effective_options;
};

// The PGOPTIONS item that makes the server check a migrator's client every 2 s while a
// statement runs, so that a killed migrator's statement is cancelled, not run to its end.
inline constexpr const char* k_client_check_option = "-c client_connection_check_interval=2000";

// The DATABASE_URL the migrator gets: the migration URL as given, but where it sets
// application_name or options itself (or names a service, whose file may), which libpq
// would take over PGAPPNAME and PGOPTIONS, those carry the tag and the client check
// instead, the user's own options kept before the check. Pure.
std::string migrator_database_url(const MigratorEnvironmentInputs& inputs);

// The migrator's environment: the service's (`service_environment`, "NAME=value" entries,
// without migrate-init's DDL-only variables), with DATABASE_URL set to the migration URL
// so that DDL credentials reach the migrator and never the service, PGAPPNAME set to the
// tag, AUTO_MIGRATE_SCHEMA to the tenant, and the client check added to PGOPTIONS (after
// the user's own options, so that it holds). A name
// set twice in `service_environment` is replaced in every copy. Pure.
std::vector<std::string> migrator_environment(const std::vector<std::string>& service_environment,
                                              const MigratorEnvironmentInputs& inputs);

} // namespace migrate_init
