#pragma once

#include "pg/connect.hpp"
#include "pg/connection.hpp"

namespace migrate_init::pg {

// Whether `connection` reaches PostgreSQL through a transaction-pooling pooler (PgBouncer
// pool_mode=transaction and the like), where a session-level advisory lock is worthless:
// the next transaction may run on another backend, and two replicas may share one.
//
// The probe works on an idle pooler too: it reads pg_backend_pid() on `connection`, then on
// a second client connection, then on `connection` again. Directly, or through a
// session-mode pooler or a TCP proxy, each client keeps its own backend: the first and
// third pids match and the second differs. In transaction mode the second client's
// transaction lands on the backend the first just released (same pid), or the first
// client moved to another backend (pids differ).
bool behind_transaction_pooler(Connection& connection, const ConnectOptions& options);

// What the backend serving `connection` says of it, in one query.
struct BackendLink {
  // The process id libpq got at start-up (BackendKeyData) is the backend's. A pooler hands
  // out its own key, so through PgBouncer (either mode) and the like the two differ; a
  // pooler that passes the backend's key on would not show here.
  bool own_key = false;
  // And the backend's client socket is this client's own, both ends: the address and port
  // the server sees the client at are this socket's local ones, and the address and port
  // it was reached at are this socket's peer's. Through any pooler or proxy the server's
  // client is the pooler's socket, not this one, so the connection is direct: no second
  // connection needs to probe for transaction pooling. Never over a Unix socket (no
  // address to compare).
  bool own_socket = false;
};
BackendLink backend_link(Connection& connection);

// Why the path to the server refuses a connection with the startup parameter
// `options.options` that it takes without it ("" when it takes it, or refuses both):
// PgBouncer, unless its ignore_startup_parameters names `options`, answers "unsupported
// startup parameter: options". Two connection attempts at most, each bounded by
// `options.wait` (kept between 2 and 10 s).
std::string startup_options_refusal(const ConnectOptions& options);

} // namespace migrate_init::pg
