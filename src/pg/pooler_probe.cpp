#include "pg/pooler_probe.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <string>

namespace migrate_init::pg {
namespace {

std::string backend_pid(Connection& connection) { return connection.exec("SELECT pg_backend_pid()").value(0, 0); }

} // namespace

bool behind_transaction_pooler(Connection& connection, const ConnectOptions& options) {
  const std::string first = backend_pid(connection);
  Connection other = connect_with_wait(options);
  const std::string second = backend_pid(other);
  const std::string again = backend_pid(connection);
  spdlog::debug("pooler probe: backend pids {}, {} (second client), {}", first, second, again);
  return first == second || first != again;
}

bool connected_to_backend_itself(Connection& connection) {
  return backend_pid(connection) == std::to_string(PQbackendPID(connection.get()));
}

std::string startup_options_refusal(const ConnectOptions& options) {
  // Asked once per URL and process: with tenants, every tenant's migrator would ask again.
  static std::map<std::string, std::string> answers;
  const std::string key = options.database_url + '\n' + options.options;
  if (const auto known = answers.find(key); known != answers.end()) return known->second;
  std::string with_options;
  { const Connection probe = connect_once(options, with_options); }
  std::string refusal;
  // Only a refusal that names the parameter: a full server, a slow start or a passing
  // network error must not switch the check off.
  if (with_options.find("startup parameter") != std::string::npos || with_options.find("options") != std::string::npos) {
    ConnectOptions plain = options;
    plain.options.clear();
    std::string without_options;
    { const Connection probe = connect_once(plain, without_options); }
    spdlog::debug("startup options probe: with options: {}; without: {}", with_options,
                  without_options.empty() ? "connected" : without_options);
    if (without_options.empty()) refusal = with_options;
  }
  answers.emplace(key, refusal);
  return refusal;
}

} // namespace migrate_init::pg
