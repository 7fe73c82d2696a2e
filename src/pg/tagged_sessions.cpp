#include "pg/tagged_sessions.hpp"

#include "process/signal_channel.hpp"
#include "text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

namespace migrate_init::pg {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto k_exit_wait = std::chrono::milliseconds(300);
constexpr auto k_cancel_wait = std::chrono::seconds(2);
constexpr auto k_terminate_wait = std::chrono::seconds(10);
constexpr const char* k_insufficient_privilege = "42501";

// One session whose application_name carries the tag.
struct TaggedSession {
  std::string pid;
  std::string key;   // pid and backend start: a pid reused by a later session is another session
  std::string role;  // the role it logged in as, as far as this session may see it
  std::string state;
  std::string query;
  bool own = false;  // logged in as the same role as this connection's session_user
};

// The tagged sessions of this database but this connection's; starts_with, not LIKE: the
// tag is data, never a pattern. application_name, usesysid and usename are visible to every
// role; state and query only for one's own role (or with pg_read_all_stats).
std::vector<TaggedSession> tagged(Connection& connection, const std::string& tag_prefix) {
  const Result rows = connection.exec_params(
      "SELECT pid, pid || ' ' || coalesce(backend_start::text, ''),"
      " coalesce(quote_ident(usename), 'oid ' || usesysid, 'unknown'), coalesce(state, ''),"
      " coalesce(left(query, 200), ''),"
      " coalesce(usesysid = (SELECT oid FROM pg_roles WHERE rolname = session_user), false)"
      " FROM pg_stat_activity WHERE datname = current_database()"
      " AND pid <> pg_backend_pid() AND starts_with(application_name, $1)",
      {tag_prefix});
  std::vector<TaggedSession> sessions;
  for (int row = 0; row < rows.rows(); ++row) {
    sessions.push_back({rows.value(row, 0), rows.value(row, 1), rows.value(row, 2), rows.value(row, 3),
                        rows.value(row, 4), rows.value(row, 5) == "t"});
  }
  return sessions;
}

std::size_t own_count(const std::vector<TaggedSession>& sessions) {
  return static_cast<std::size_t>(std::count_if(sessions.begin(), sessions.end(), [](const auto& s) { return s.own; }));
}

// Anyone who can connect may choose an application_name, the tag included, and the lock
// key is derived from public names: a session of another role is not provably the
// migrator's, and cancelling or waiting for it would let any read-only role stop every run.
// A role that can log in as the migrator's own could change its tables anyway. Said once
// per session per process: the check runs before and after each migrator.
void warn_about_foreign(const std::vector<TaggedSession>& sessions, const std::string& tag_prefix) {
  static std::set<std::string> warned;
  for (const auto& session : sessions) {
    if (session.own || !warned.insert(session.key).second) continue;
    spdlog::warn("session pid {} (role {}) has the migrator's application_name \"{}...\" but another role than "
                 "migrate-init's: not the migrator's, so neither cancelled nor waited for",
                 session.pid, session.role, tag_prefix);
  }
}

// Sends `function` (pg_cancel_backend or pg_terminate_backend) to each of `sessions`;
// returns those it was sent to. One this role may not signal (a superuser's session when
// SET ROLE made this one no superuser) is named and left: waiting for it would be in vain.
std::vector<TaggedSession> signal_each(Connection& connection, const std::vector<TaggedSession>& sessions,
                                       const char* function, const std::string& whose) {
  std::vector<TaggedSession> signalled;
  for (const auto& session : sessions) {
    try {
      connection.exec_params(std::string("SELECT ") + function + "($1::int)", {session.pid});
      signalled.push_back(session);
    } catch (const DatabaseError& e) {
      if (e.sqlstate() != k_insufficient_privilege) throw;
      spdlog::warn("{} session pid {} (role {}) could not be signalled ({}): {}; not waiting for it", whose,
                   session.pid, session.role, function, e.what());
    }
  }
  return signalled;
}

// `sessions` still listed among the tagged ones.
std::vector<TaggedSession> still_there(Connection& connection, const std::string& tag_prefix,
                                       const std::vector<TaggedSession>& sessions) {
  const auto now = tagged(connection, tag_prefix);
  std::vector<TaggedSession> left;
  for (const auto& session : sessions) {
    const auto same = [&](const TaggedSession& other) { return other.key == session.key; };
    if (std::any_of(now.begin(), now.end(), same)) left.push_back(session);
  }
  return left;
}

// Waits until none of `sessions` is left; returns those still there after `patience`.
std::vector<TaggedSession> wait_until_gone(Connection& connection, const std::string& tag_prefix,
                                           std::vector<TaggedSession> sessions, Clock::duration patience) {
  const auto deadline = Clock::now() + patience;
  while (!(sessions = still_there(connection, tag_prefix, sessions)).empty() && Clock::now() < deadline) {
    interruptible_sleep(std::chrono::milliseconds(100), "ending the migrator's sessions");
  }
  return sessions;
}

// The tagged sessions once this role's have had `k_exit_wait` to end by themselves: a
// client that has just exited closed its sessions, but the server may still be ending them.
// None at all returns after the first look.
std::vector<TaggedSession> after_settling(Connection& connection, const std::string& tag_prefix) {
  const auto deadline = Clock::now() + k_exit_wait;
  auto sessions = tagged(connection, tag_prefix);
  while (own_count(sessions) > 0 && Clock::now() < deadline) {
    interruptible_sleep(std::chrono::milliseconds(20), "ending the migrator's sessions");
    sessions = tagged(connection, tag_prefix);
  }
  return sessions;
}

const char* sessions_were(std::size_t count) { return count == 1 ? "session was" : "sessions were"; }

} // namespace

int end_tagged_sessions(Connection& connection, const std::string& tag_prefix, const std::string& whose) {
  const auto sessions = after_settling(connection, tag_prefix);
  warn_about_foreign(sessions, tag_prefix);
  std::vector<TaggedSession> own;
  std::copy_if(sessions.begin(), sessions.end(), std::back_inserter(own), [](const auto& s) { return s.own; });
  if (own.empty()) return 0;
  for (const auto& session : own) {
    spdlog::warn("{} session pid {} is still there ({}): {}", whose, session.pid,
                 session.state.empty() ? "state unknown" : session.state, one_line(session.query));
  }
  const auto cancelled = signal_each(connection, own, "pg_cancel_backend", whose);
  if (cancelled.empty()) return static_cast<int>(own.size());
  auto left = wait_until_gone(connection, tag_prefix, cancelled, k_cancel_wait);
  if (left.empty()) {
    spdlog::warn("{} {} cancelled and ended", whose, sessions_were(cancelled.size()));
    return static_cast<int>(own.size());
  }
  left = wait_until_gone(connection, tag_prefix, signal_each(connection, left, "pg_terminate_backend", whose),
                         k_terminate_wait);
  if (!left.empty()) {
    spdlog::error("{} sessions were still there 10 s after pg_terminate_backend", whose);
  } else {
    spdlog::warn("{} {} terminated", whose, sessions_were(cancelled.size()));
  }
  return static_cast<int>(own.size());
}

} // namespace migrate_init::pg
