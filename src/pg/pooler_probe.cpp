#include "pg/pooler_probe.hpp"

#include "pg/socket_end.hpp"

#include <sys/socket.h>

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

BackendLink backend_link(Connection& connection) {
  const Result seen = connection.exec("SELECT pg_catalog.pg_backend_pid(), pg_catalog.host(pg_catalog.inet_client_addr()),"
                                      " pg_catalog.inet_client_port(), pg_catalog.host(pg_catalog.inet_server_addr()),"
                                      " pg_catalog.inet_server_port()");
  BackendLink link;
  link.own_key = seen.value(0, 0) == std::to_string(PQbackendPID(connection.get()));
  sockaddr_storage local{};
  sockaddr_storage peer{};
  socklen_t local_size = sizeof local;
  socklen_t peer_size = sizeof peer;
  const int fd = PQsocket(connection.get());
  link.own_socket = link.own_key && fd >= 0 && !seen.is_null(0, 1) && !seen.is_null(0, 3) &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) == 0 &&
                    getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) == 0 &&
                    same_socket_end(local, seen.value(0, 1), seen.value(0, 2)) &&
                    same_socket_end(peer, seen.value(0, 3), seen.value(0, 4));
  spdlog::debug("backend link: pid {} ({} libpq's key), client {} port {}, server {} port {}: {}", seen.value(0, 0),
                link.own_key ? "is" : "is not", seen.value(0, 1), seen.value(0, 2), seen.value(0, 3), seen.value(0, 4),
                link.own_socket ? "this socket's own ends, connected directly" : "not shown to be this socket's own");
  return link;
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
