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

// Whether `connection` talks to a PostgreSQL backend itself: the process id libpq got at
// start-up (BackendKeyData) is the backend's. A pooler hands out its own key, so through
// PgBouncer (either mode) and the like the two differ. One query.
bool connected_to_backend_itself(Connection& connection);

// Why the path to the server refuses a connection with the startup parameter
// `options.options` that it takes without it ("" when it takes it, or refuses both):
// PgBouncer, unless its ignore_startup_parameters names `options`, answers "unsupported
// startup parameter: options". Two connection attempts at most, each bounded by
// `options.wait` (kept between 2 and 10 s).
std::string startup_options_refusal(const ConnectOptions& options);

} // namespace migrate_init::pg
