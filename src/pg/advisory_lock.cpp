#include "pg/advisory_lock.hpp"

#include "log.hpp"
#include "process/signal_channel.hpp"

#include <poll.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace migrate_init::pg {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// What waiting costs the server, per waiter (bench/RESULTS.md): a poll is 75-145 us of
// server CPU, a holder look-up 0.3-0.6 ms, more with many backends. The holder's NOTIFY wakes waiters
// at once when it lets go, so polling is only the fallback for a holder that vanished:
// a 3 s ceiling and a look-up a minute keep a thousand waiters to a few percent of a core.
constexpr milliseconds k_first_poll_delay{50};
constexpr milliseconds k_max_poll_delay{3000};
constexpr milliseconds k_wait_log_interval{10'000};   // "still waiting" lines
constexpr milliseconds k_holder_lookup_interval{60'000}; // who holds it, asked again

bool try_lock(Connection& connection, std::int64_t key) {
  return connection.exec_params("SELECT pg_try_advisory_lock($1::bigint)", {std::to_string(key)}).value(0, 0) == "t";
}

// Whether no other session holds the lock: taken and let go within one statement (the
// implicit transaction's end), so nothing stays held whatever happens next. Shared: many
// replicas asking at once do not see each other as holders (the holder look-up counts
// exclusive locks only).
bool lock_free(Connection& connection, std::int64_t key) {
  return connection.exec_params("SELECT pg_try_advisory_xact_lock_shared($1::bigint)", {std::to_string(key)})
             .value(0, 0) == "t";
}

// Spreads many replicas' polls apart so they do not hit the server in step.
milliseconds with_jitter(milliseconds delay) {
  static std::mt19937 random{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.75, 1.25);
  return milliseconds(static_cast<long long>(static_cast<double>(delay.count()) * factor(random)));
}

} // namespace

LockHolder find_lock_holder(Connection& connection, std::int64_t key) {
  // A bigint advisory key shows in pg_locks as classid = high 32 bits, objid = low 32
  // bits, objsubid = 1.
  const auto bits = static_cast<std::uint64_t>(key);
  // Another role's session shows only its pid to a role without pg_read_all_stats: its
  // other fields are NULL then, which must not read as "local socket" or "connected  s ago".
  const Result holder = connection.exec_params(
      "SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(host(a.client_addr), 'local socket'),"
      "       extract(epoch FROM now() - a.backend_start)::bigint, a.backend_start IS NULL,"
      // Shown for every session (as pid is): whether the holder logged in as this one did.
      "       pg_catalog.pg_get_userbyid(a.usesysid) = session_user"
      // pg_stat_get_activity(pid) reads one backend's entry, where pg_stat_activity would
      // build every backend's: a thousand waiters each asking would add up. Functions, not
      // the pg_locks, pg_roles and pg_database views and tables: a new waiter's backend
      // plans this with cold caches, and each relation added about 1 ms (7.8 ms against
      // 5.4 ms as a fresh session's first statement, pgbench -C).
      "  FROM pg_catalog.pg_lock_status() l, LATERAL pg_catalog.pg_stat_get_activity(l.pid) a"
      // A prepared transaction's lock has no pid: pg_stat_get_activity(NULL) is every backend.
      // Exclusive: a replica's shared check whether the lock is free (lock_free) is not a holder.
      " WHERE l.locktype = 'advisory' AND l.mode = 'ExclusiveLock' AND l.granted AND l.objsubid = 1"
      "   AND l.pid IS NOT NULL"
      "   AND l.database = (SELECT s.datid FROM pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) s)"
      "   AND l.classid = $1::oid AND l.objid = $2::oid",
      {std::to_string(bits >> 32), std::to_string(bits & 0xffffffffu)});
  if (holder.rows() == 0) return {};
  const int pid = std::stoi(holder.value(0, 0));
  const bool same_role = holder.value(0, 5) == "t";
  if (holder.value(0, 4) == "t") {
    return {pid, same_role, fmt::format("pid {} (another role's session: its details need pg_read_all_stats)", pid),
            std::nullopt, ""};
  }
  LockHolder found{pid, same_role, "", Clock::now() - std::chrono::seconds(std::stoll(holder.value(0, 3))),
                   holder.value(0, 1) + ", " + holder.value(0, 2)};
  found.description = found.described_at(Clock::now());
  return found;
}

std::string LockHolder::described_at(std::chrono::steady_clock::time_point now) const {
  if (!connected_at) return description;
  return fmt::format("pid {} ({}, connected {} s ago)", pid, who,
                     std::chrono::duration_cast<std::chrono::seconds>(now - *connected_at).count());
}

std::string wake_channel(std::int64_t key) {
  return "migrate_init_" + std::to_string(static_cast<std::uint64_t>(key));
}

AdvisoryLock::AdvisoryLock(Connection& connection, std::int64_t key, milliseconds timeout,
                           const StillNeeded& still_needed, const BeforeTaking& before_taking)
    : m_connection(connection), m_key(key) {
  const auto started = Clock::now();
  // The holder NOTIFYs this channel as it lets go: waiters wake at once instead of at
  // their next poll, and polling stays the fallback for a holder that vanished.
  // A failure here is usually the connection going away (server restart,
  // pg_terminate_backend): libpq's text alone does not say it was during the wait.
  const std::string waiting = fmt::format("waiting for the migration lock (key {})", m_key);
  const ActivityScope activity(m_connection, waiting); // a stop signal during its queries says so too
  in_context(waiting, [&] { wait_for_lock(started, timeout, still_needed, before_taking); });
}

void AdvisoryLock::wait_for_lock(Clock::time_point started, milliseconds timeout,
                                 const StillNeeded& still_needed, const BeforeTaking& before_taking) {
  // Many replicas starting at once mostly wait, and are then told the work is done: only
  // those that find the lock free run the check before taking it (for the pooler probe, a
  // second connection), not every replica that waits.
  bool checked = !before_taking;
  auto deadline = started + timeout;
  const auto attempt = [&] {
    if (!checked) {
      if (!lock_free(m_connection, m_key)) return false;
      const auto before = Clock::now();
      before_taking();
      checked = true;
      deadline += Clock::now() - before; // the check's time is not time spent waiting
    }
    return try_lock(m_connection, m_key);
  };
  if (attempt()) {
    m_held = true;
    return;
  }
  // Listening starts before the next attempt: a release after the first one is either
  // seen by that attempt or heard.
  const std::string channel = wake_channel(m_key);
  m_connection.exec("LISTEN " + channel);
  const int own_pid = PQbackendPID(m_connection.get());
  bool retried_unheld = false;
  auto next_wait_log = started; // say at once who holds it, then every few seconds
  auto next_holder_lookup = started;
  LockHolder holder; // as last looked up
  milliseconds delay = k_first_poll_delay;
  while (!attempt()) {
    const auto now = Clock::now();
    if (now >= deadline) {
      const LockHolder holder_now = find_lock_holder(m_connection, m_key);
      // Another replica's check (lock_free) makes an attempt fail for as long as its
      // statement runs: with nobody holding the lock, one more attempt (a timeout of 0
      // must not end in "gave up" for that).
      if (holder_now.pid == 0 && !retried_unheld) {
        retried_unheld = true;
        continue;
      }
      throw Error(ExitCode::lock_timeout,
                  fmt::format("gave up waiting for the migration lock (key {}) after {} ms{}; raise "
                              "AUTO_MIGRATE_LOCK_TIMEOUT if migrations take longer",
                              m_key, std::chrono::duration_cast<milliseconds>(now - started).count(),
                              holder_now.description.empty() ? "" : ": held by " + holder_now.description));
    }
    if (now >= next_holder_lookup) {
      holder = find_lock_holder(m_connection, m_key);
      next_holder_lookup = now + k_holder_lookup_interval;
    }
    if (now >= next_wait_log) {
      const long long waited = std::chrono::duration_cast<milliseconds>(now - started).count();
      const std::string held_by = holder.described_at(now);
      log_event(spdlog::level::info, "lock.waiting",
                fmt::format("waiting for the migration lock (key {}) for {} s, held by {}", m_key, waited / 1000,
                            held_by.empty() ? "nobody now" : held_by),
                {{"key", static_cast<long long>(m_key)}, {"waited_ms", waited}, {"holder", held_by}});
      next_wait_log = now + k_wait_log_interval;
    }
    const auto poll_at = now + std::min(with_jitter(delay), std::chrono::duration_cast<milliseconds>(deadline - now));
    std::optional<std::string> note; // set when a release on this key's channel woke this wait
    if (wait_for_fd(PQsocket(m_connection.get()), POLLIN, poll_at,
                    fmt::format("waiting for the migration lock (key {})", m_key))) {
      for (const Notification& notification : m_connection.consume_notifications()) {
        // The session keeps listening to the channels of keys it waited for before (one
        // per tenant), and hears its own releases.
        if (notification.channel != channel || notification.sender_pid == own_pid) continue;
        // Any role that can connect may NOTIFY this channel, and take the lock first: what a
        // release says is passed on only from the session this wait saw holding the lock,
        // logged in as this one (a role that could as well write the version table).
        const bool believed = holder.pid != 0 && holder.same_role && notification.sender_pid == holder.pid;
        note = believed ? notification.payload : "";
      }
    }
    delay = std::min(k_max_poll_delay, delay * 2);
    // Woken by the holder: whatever it did may already be all this instance needed.
    if (note && still_needed && !still_needed(*note)) {
      spdlog::debug("the lock holder finished the work; not taking the lock (key {})", m_key);
      return;
    }
    if (note) next_holder_lookup = Clock::now(); // someone else may take it now: whom to believe next
  }
  m_held = true;
  spdlog::debug("took the migration lock (key {}) after {} ms", m_key,
                std::chrono::duration_cast<milliseconds>(Clock::now() - started).count());
}

AdvisoryLock::~AdvisoryLock() { release(); }

void AdvisoryLock::release(const std::string& note) {
  if (!m_held) return;
  m_held = false;
  try {
    // NOTIFY's payload must stay under 8000 bytes; a longer note is not worth a failure.
    const std::string payload = note.empty() || note.size() >= 8000 ? "" : ", " + m_connection.escape_literal(note);
    m_connection.exec("SELECT pg_advisory_unlock(" + std::to_string(m_key) + "); NOTIFY " + wake_channel(m_key) +
                      payload);
  } catch (const std::exception& e) {
    // The session is gone or broken (or a second stop signal cut this short): the server
    // drops a session's locks when the connection closes, which follows right after.
    spdlog::debug("releasing the migration lock: {}", e.what());
  }
}

} // namespace migrate_init::pg
