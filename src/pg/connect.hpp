#pragma once

#include "pg/connection.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace migrate_init {
struct WaitBreaker;
}

namespace migrate_init::pg {

// Where and how to connect.
struct ConnectOptions {
  std::string database_url;                 // URI or conninfo; empty: libpq's PG* variables
  std::string source = "DATABASE_URL";      // the setting it came from, for messages
  std::chrono::milliseconds wait{30'000};   // how long to wait for the server to come up
  std::string application_name;             // shown in pg_stat_activity
  std::string options;                      // the startup parameter `options` ("": none; the URL's own wins)
  const WaitBreaker* breaker = nullptr;     // may end the wait early (process/signal_channel.hpp)
};

// Checks that the URL parses and that its port and sslmode are valid (UsageError naming
// `source` otherwise: libpq itself would only find out when connecting), and registers
// its password, and PGPASSWORD, as log secrets.
void validate_database_url(const std::string& database_url, const std::string& source);

// What is wrong with one connection option's value ("" if nothing): a port that is not
// 1-65535 (per host of a multi-host list), an unknown sslmode. Pure.
std::string connection_option_problem(std::string_view keyword, std::string_view value);

// Whether a failed connection attempt is worth another try.
enum class ConnectFailure {
  transient, // refused, name not resolved yet, starting up, too many clients, ...
  permanent, // wrong password, unknown role or database, bad parameters
};

// Classifies libpq's connection error text. Pure.
ConnectFailure classify_connect_error(std::string_view message);

// Connects, retrying transient failures with backoff until `wait` has passed. Throws
// Error(database_unreachable) on a permanent failure or when the wait runs out.
Connection connect_with_wait(const ConnectOptions& options);

// One connection attempt, no retry; `failure` says why it failed ("" when it did not).
Connection connect_once(const ConnectOptions& options, std::string& failure);

// "migrate-init@<host name>": names this host in pg_stat_activity and in lock-wait logs.
std::string default_application_name();

} // namespace migrate_init::pg
