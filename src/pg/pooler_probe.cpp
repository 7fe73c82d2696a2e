#include "pg/pooler_probe.hpp"

#include <spdlog/spdlog.h>

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

std::string startup_options_refusal(const ConnectOptions& options) {
  std::string with_options;
  { const Connection probe = connect_once(options, with_options); }
  if (with_options.empty()) return "";
  ConnectOptions plain = options;
  plain.options.clear();
  std::string without_options;
  { const Connection probe = connect_once(plain, without_options); }
  spdlog::debug("startup options probe: with options: {}; without: {}", with_options,
                without_options.empty() ? "connected" : without_options);
  return without_options.empty() ? with_options : "";
}

} // namespace migrate_init::pg
