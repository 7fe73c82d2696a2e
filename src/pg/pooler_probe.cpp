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

} // namespace migrate_init::pg
