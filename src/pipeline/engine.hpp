#pragma once

#include "pipeline/migrator.hpp"
#include "pg/advisory_lock.hpp"

#include <functional>
#include <memory>
#include <string>

namespace migrate_init {

// What an engine did under the lock, for the pipeline's closing line.
struct EngineWork {
  bool did_work = false; // false: another instance had done everything by then
  std::string what;      // "applied 3 migrations", "ran the migrator"
  // Told to the waiters as the lock is released: the state this holder left, which a
  // waiter's still_needed() may trust instead of asking the database again ("" for none).
  std::string holder_note;
};

// The part of migrating that differs between kinds of migrations: ".sql files" and "the
// project's own migrator" answer "is anything pending?" and "apply it" differently. The
// pipeline around them (migrator.cpp: fast path, lock, re-check under the lock, apply,
// release, summary) is the same for every engine. One engine covers one ledger: the
// database's, or one tenant schema's.
class MigrationEngine {
public:
  virtual ~MigrationEngine() = default;

  // Without the lock: true when nothing is pending, with `outcome` counted. Throws when
  // the database and the migrations disagree in a way that stops migrating.
  virtual bool up_to_date(MigrateOutcome& outcome) = 0;
  // What "up to date" means for this engine, for the log: "5 migrations", "at head 3f2a".
  virtual std::string up_to_date_detail() const = 0;
  // Takes the migration lock. When a holder releases it and `still_needed` says no, the
  // lock returned is not held.
  virtual std::unique_ptr<pg::AdvisoryLock> lock(const pg::AdvisoryLock::StillNeeded& still_needed) = 0;
  // After a holder's release, without the lock: whether anything is still pending.
  // `holder_note` is the EngineWork::holder_note of the session this waiter saw holding the
  // lock, "" when there was none or the release came from elsewhere (AdvisoryLock::StillNeeded).
  virtual bool still_needed(const std::string& holder_note) = 0;
  // The holder did everything: checks and counts as up_to_date() would.
  virtual void done_by_another(MigrateOutcome& outcome) = 0;
  // Under the lock: re-reads the state and applies what is still pending. Returns before
  // the lock is released; no session of the work may outlive this call.
  virtual EngineWork apply(MigrateOutcome& outcome) = 0;
  // After apply() threw: what the waiters are told as the lock is released ("" for nothing),
  // so that those it concerns need not fail the same way in turn.
  virtual std::string failure_note() const { return ""; }
};

} // namespace migrate_init
