#include "command/migrator_environment.hpp"

#include "config.hpp"
#include "pg/url_parameters.hpp"

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

// The user's options, then the client check: the server keeps the last value of a
// setting, so a client_connection_check_interval of their own cannot switch the check off.
std::string with_client_check(const std::string& options) {
  return options.empty() ? k_client_check_option : options + " " + k_client_check_option;
}

} // namespace

std::string migrator_database_url(const MigratorEnvironmentInputs& inputs) {
  // libpq takes a URL's application_name and options over PGAPPNAME and PGOPTIONS, and a
  // service file's (service=) over them too: there, the tag and the check go into the URL.
  const bool names_service = pg::sets_parameter(inputs.database_url, "service");
  std::string url = pg::with_parameter(
      inputs.database_url, "application_name", [&](const std::string&) { return inputs.application_name; },
      names_service);
  if (inputs.check_client_connection) {
    url = pg::with_parameter(
        url, "options",
        [&](const std::string& theirs) {
          // A service file's options are not in the URL: the session's own, which libpq
          // read from that file, stand for them.
          return with_client_check(theirs.empty() ? inputs.effective_options : theirs);
        },
        names_service);
  }
  return url;
}

std::vector<std::string> migrator_environment(const std::vector<std::string>& service_environment,
                                              const MigratorEnvironmentInputs& inputs) {
  std::vector<std::string> environment = service_environment;
  for (const char* name : k_migration_only_variables) take(environment, name);
  if (!inputs.database_url.empty()) {
    take(environment, "DATABASE_URL");
    environment.push_back("DATABASE_URL=" + migrator_database_url(inputs));
  }
  take(environment, "PGAPPNAME");
  environment.push_back("PGAPPNAME=" + inputs.application_name);
  take(environment, "AUTO_MIGRATE_SCHEMA");
  if (inputs.tenant_schema) environment.push_back("AUTO_MIGRATE_SCHEMA=" + *inputs.tenant_schema);
  if (inputs.check_client_connection) {
    const auto options = take(environment, "PGOPTIONS");
    environment.push_back("PGOPTIONS=" + with_client_check(options.value_or("")));
  }
  return environment;
}

} // namespace migrate_init
