#include "pg/tagged_sessions.hpp"

#include "process/signal_channel.hpp"
#include "text.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace migrate_init::pg {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto k_exit_wait = std::chrono::milliseconds(300);
constexpr auto k_cancel_wait = std::chrono::seconds(2);
constexpr auto k_terminate_wait = std::chrono::seconds(10);

// The tagged sessions left: pid, state and the start of the query, one row each. LIKE
// with the prefix's own wildcards escaped: the tag is data, never a pattern.
Result tagged(Connection& connection, const std::string& tag_prefix) {
  return connection.exec_params(
      "SELECT pid, state, left(query, 200) FROM pg_stat_activity WHERE datname = current_database()"
      " AND pid <> pg_backend_pid() AND starts_with(application_name, $1)",
      {tag_prefix});
}

void signal_all(Connection& connection, const std::string& tag_prefix, const char* function) {
  connection.exec_params(std::string("SELECT ") + function +
                             "(pid) FROM pg_stat_activity WHERE datname = current_database()"
                             " AND pid <> pg_backend_pid() AND starts_with(application_name, $1)",
                         {tag_prefix});
}

bool wait_until_gone(Connection& connection, const std::string& tag_prefix, Clock::duration patience,
                     std::chrono::milliseconds poll = std::chrono::milliseconds(100)) {
  const auto deadline = Clock::now() + patience;
  while (tagged(connection, tag_prefix).rows() > 0) {
    if (Clock::now() >= deadline) return false;
    interruptible_sleep(poll, "ending the migrator's sessions");
  }
  return true;
}

} // namespace

int end_tagged_sessions(Connection& connection, const std::string& tag_prefix, const std::string& whose) {
  // A client that has just exited closed its sessions, but the server may still be ending
  // them: give that a moment before calling anything left a leftover (none at all returns
  // after the first look).
  if (wait_until_gone(connection, tag_prefix, k_exit_wait, std::chrono::milliseconds(20))) return 0;
  const Result found = tagged(connection, tag_prefix);
  if (found.rows() == 0) return 0;
  for (int row = 0; row < found.rows(); ++row) {
    spdlog::warn("{} session pid {} is still there ({}): {}", whose, found.value(row, 0),
                 found.value(row, 1).empty() ? "state unknown" : found.value(row, 1), one_line(found.value(row, 2)));
  }
  signal_all(connection, tag_prefix, "pg_cancel_backend");
  if (!wait_until_gone(connection, tag_prefix, k_cancel_wait)) {
    signal_all(connection, tag_prefix, "pg_terminate_backend");
    if (!wait_until_gone(connection, tag_prefix, k_terminate_wait)) {
      spdlog::error("{} sessions were still there 10 s after pg_terminate_backend", whose);
      return found.rows();
    }
    spdlog::warn("{} {} terminated", whose, found.rows() == 1 ? "session was" : "sessions were");
  } else {
    spdlog::warn("{} {} cancelled and ended", whose, found.rows() == 1 ? "session was" : "sessions were");
  }
  return found.rows();
}

} // namespace migrate_init::pg
