#pragma once

#include "sql_files/sql_context.hpp"
#include "pipeline/engine.hpp"

#include <optional>
#include <string>

namespace migrate_init {

// The .sql files of AUTO_MIGRATE_DIR and migrate-init's own ledger: pending is what the
// ledger lacks, applying runs each file in its transaction with its ledger row.
class SqlEngine : public MigrationEngine {
public:
  // One ledger: the configured one (`tenant` empty), or a tenant schema's.
  SqlEngine(const Config& config, Session& session, const MigrationSet& files, const std::optional<std::string>& tenant);

  bool up_to_date(MigrateOutcome& outcome) override;
  std::string up_to_date_detail() const override;
  std::unique_ptr<pg::AdvisoryLock> lock(const pg::AdvisoryLock::StillNeeded& still_needed) override;
  // Reads the ledger again: a note would have to say all of it, checksums included.
  bool still_needed(const std::string& holder_note) override;
  void done_by_another(MigrateOutcome& outcome) override;
  EngineWork apply(MigrateOutcome& outcome) override;

private:
  // AUTO_MIGRATE_BASELINE on a ledger that is not empty: says once why it is not recorded.
  void note_baseline_not_recorded();

  MigrationContext m_context;
  bool m_baseline_noted = false;
  std::optional<std::string> m_tenant;
};

} // namespace migrate_init
