#pragma once

#include "pg/connection.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace migrate_init::pg {

// A session-level advisory lock held on one connection; released on destruction.
// Acquired by polling pg_try_advisory_lock, never by waiting inside pg_advisory_lock:
// a session blocked there holds a snapshot, and a CREATE INDEX CONCURRENTLY run by the
// lock holder would wait for it forever.
class AdvisoryLock {
public:
  // Asked after a wake-up, with what the release said (release(note)): only when it came
  // from the session this waiter last saw holding the lock, logged in as this one; ""
  // otherwise or for none.
  using StillNeeded = std::function<bool(const std::string& holder_note)>;
  // Run once before the first attempt that can take the lock (a check that throws to
  // refuse it). Until then an attempt only asks whether the lock is free: a
  // transaction-level try (pg_try_advisory_xact_lock), let go as its statement ends, so
  // that nothing is left held when the check refuses. A waiter that the holder's release
  // tells the work is done never runs it.
  using BeforeTaking = std::function<void()>;

  // Polls with backoff and jitter until `timeout` (0: one try), logging the holder every
  // few seconds, and wakes at once when the holder releases it (LISTEN/NOTIFY). After such
  // a wake-up, `still_needed` (if given) decides whether to go on: when it says no, the
  // constructor returns without the lock (held() is false). Throws Error(lock_timeout)
  // naming the holder when time runs out.
  AdvisoryLock(Connection& connection, std::int64_t key, std::chrono::milliseconds timeout,
               const StillNeeded& still_needed = {}, const BeforeTaking& before_taking = {});
  ~AdvisoryLock();
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

  // Releases the lock and wakes the waiters, telling them `note` (what state the holder
  // left, at most a few kB; "" says nothing); idempotent. A connection that is gone has
  // released it already.
  void release(const std::string& note = "");
  bool held() const { return m_held; }

private:
  // The polling loop of the constructor.
  void wait_for_lock(std::chrono::steady_clock::time_point started, std::chrono::milliseconds timeout,
                     const StillNeeded& still_needed, const BeforeTaking& before_taking);

  Connection& m_connection;
  std::int64_t m_key;
  bool m_held = false;
};

// Who holds advisory lock `key` in this database: its backend pid (0 when nobody does),
// whether it logged in as this session's user did, and, e.g.,
// "pid 4242 (migrate-init@web-1, 10.0.0.7, connected 12 s ago)" ("" when nobody does).
struct LockHolder {
  int pid = 0;
  bool same_role = false;
  std::string description; // as of the lookup
  // When the session connected, on this process's steady clock, and its name and address;
  // unset when its details are not shown to this role.
  std::optional<std::chrono::steady_clock::time_point> connected_at;
  std::string who;
  // The description with the session's age counted to `now`: a lookup made a minute ago
  // must not say "connected 0 s ago".
  std::string described_at(std::chrono::steady_clock::time_point now) const;
};
LockHolder find_lock_holder(Connection& connection, std::int64_t key);

} // namespace migrate_init::pg
