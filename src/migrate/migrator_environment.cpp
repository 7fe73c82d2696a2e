#include "migrate/migrator_environment.hpp"

#include "config.hpp"

#include <algorithm>
#include <string_view>

namespace migrate_init {
namespace {

std::string_view name_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

// Removes every copy of `name`; returns the value of the last copy (what getenv may see).
std::optional<std::string> take(std::vector<std::string>& environment, std::string_view name) {
  std::optional<std::string> value;
  environment.erase(std::remove_if(environment.begin(), environment.end(),
                                   [&](const std::string& entry) {
                                     if (name_of(entry) != name) return false;
                                     const std::size_t equals = entry.find('=');
                                     value = equals == std::string::npos ? "" : entry.substr(equals + 1);
                                     return true;
                                   }),
                    environment.end());
  return value;
}

} // namespace

std::vector<std::string> migrator_environment(const std::vector<std::string>& service_environment,
                                              const MigratorEnvironmentInputs& inputs) {
  std::vector<std::string> environment = service_environment;
  for (const char* name : k_migration_only_variables) take(environment, name);
  if (!inputs.database_url.empty()) {
    take(environment, "DATABASE_URL");
    environment.push_back("DATABASE_URL=" + inputs.database_url);
  }
  take(environment, "PGAPPNAME");
  environment.push_back("PGAPPNAME=" + inputs.application_name);
  take(environment, "AUTO_MIGRATE_SCHEMA");
  if (inputs.tenant_schema) environment.push_back("AUTO_MIGRATE_SCHEMA=" + *inputs.tenant_schema);
  if (inputs.check_client_connection) {
    const auto options = take(environment, "PGOPTIONS");
    // The user's own options come last: a client_connection_check_interval they set wins.
    environment.push_back(std::string("PGOPTIONS=") + k_client_check_option +
                          (options && !options->empty() ? " " + *options : ""));
  }
  return environment;
}

} // namespace migrate_init
