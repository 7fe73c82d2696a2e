#include "command/command_engine.hpp"

#include "host_name.hpp"
#include "log.hpp"
#include "command/alembic/alembic_revision_record.hpp"
#include "command/command_state.hpp"
#include "command/django/django_project.hpp"
#include "command/files_digest.hpp"
#include "command/holder_note.hpp"
#include "command/migrator_environment.hpp"
#include "pg/pooler_probe.hpp"
#include "pg/session_watch.hpp"
#include "pg/url_parameters.hpp"
#include "pg/tagged_sessions.hpp"
#include "process/migrator_process.hpp"
#include "process/signal_policy.hpp"
#include "text.hpp"

#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <utility>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

extern char** environ;

namespace migrate_init {
namespace {

constexpr auto k_heartbeat = std::chrono::seconds(10);
// Every migrator session's application_name starts with this, then the lock key: under
// that lock, any session so tagged is a dead holder's migrator's.
constexpr const char* k_tag = "migrate-init-migrator ";

std::vector<std::string> current_environment() {
  std::vector<std::string> entries;
  for (char** entry = environ; entry && *entry; ++entry) entries.emplace_back(*entry);
  return entries;
}

// "exit 3" or "killed by SIGKILL".
std::string ending(const MigratorResult& result) {
  return result.signal ? "killed by " + signal_name(result.signal) : "exit " + std::to_string(result.exit_code);
}

// How it ended, with the last lines it wrote that say something (a traceback's last five).
std::string failure_text(const MigratorResult& result) {
  std::vector<std::string> tail;
  for (const auto& line : result.last_lines) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) tail.push_back(line);
  }
  if (tail.size() > 5) tail.erase(tail.begin(), tail.end() - 5);
  return ending(result) + (tail.empty() ? "" : "; its last output: " + joined(tail, " | "));
}

// When the migrator is told to read another Alembic config than the one migrate-init read
// (`alembic -c deploy.ini`, `-n section`, ALEMBIC_CONFIG), its revisions may be others: why,
// or "" when nothing says so. The words of a shell command are looked at as well. Pure but
// for ALEMBIC_CONFIG.
std::string other_alembic_config(const Config& config) {
  const std::vector<std::string> words = command_words(config.migrate_command);
  // Alembic's own options come after the word `alembic` (a program, or `python -m alembic`);
  // the `-c` of `sh -c` is the shell's.
  std::size_t first = 0;
  while (first < words.size() && std::filesystem::path(words[first]).filename() != "alembic") ++first;
  for (std::size_t i = first; i < words.size(); ++i) {
    const std::string& word = words[i];
    std::optional<std::string> named;
    if ((word == "-c" || word == "--config") && i + 1 < words.size()) named = words[i + 1];
    if (word.rfind("--config=", 0) == 0) named = word.substr(9);
    if (named && std::filesystem::path(*named).lexically_normal() != config.alembic_ini.lexically_normal()) {
      return "the command reads the Alembic config " + *named + ", not " + config.alembic_ini.string() +
             " (set AUTO_MIGRATE_ALEMBIC_INI to it)";
    }
    if (word == "-n" || word == "--name" || word.rfind("--name=", 0) == 0) {
      return "the command names its own section of the Alembic config (-n/--name)";
    }
  }
  if (const char* ini = std::getenv("ALEMBIC_CONFIG"); ini && *ini &&
      std::filesystem::path(ini).lexically_normal() != config.alembic_ini.lexically_normal()) {
    return std::string("ALEMBIC_CONFIG names ") + ini + ", not " + config.alembic_ini.string() +
           " (set AUTO_MIGRATE_ALEMBIC_INI to it)";
  }
  return "";
}

// The lock's session ended while the migrator ran: another instance may be running it
// now, so this one was stopped, whatever it had done, and never counts as a success.
Error lock_lost(const MigratorResult& result, bool killed) {
  log_event(spdlog::level::err, "migrator.done",
            fmt::format("the migrator {} after {} ms: the migration lock was lost",
                        killed ? "was stopped" : "ended (" + ending(result) + ")", result.duration_ms),
            {{"exit_code", static_cast<long long>(result.exit_code)},
             {"signal", result.signal ? signal_name(result.signal) : std::string()},
             {"duration_ms", result.duration_ms}});
  return Error(ExitCode::lock_lost,
               "lost the migration lock while the migrator ran (" + result.guard_failure + "); " +
                   (killed ? "the migrator and everything it started were killed"
                           : "the migrator had ended, but another instance may have run it meanwhile") +
                   ", and what it did is not recorded: the next holder of the lock runs it again");
}

// Each tenant's Alembic version table is in its own schema, as its ledger is: the schema of
// a qualified AUTO_MIGRATE_ALEMBIC_VERSION_TABLE would name one table for every tenant.
LedgerName version_table_for(const LedgerName& configured, const std::optional<std::string>& tenant) {
  return tenant && configured.schema ? LedgerName{*tenant, configured.table} : configured;
}

} // namespace

std::optional<alembic::Project> find_alembic_project(const Config& config) {
  if (!config.fast_path || config.django_manifest) return std::nullopt;
  return alembic::find_project(config.migrations_dir, config.alembic_ini);
}

AlembicFiles read_alembic_files(alembic::Project project, alembic::RevisionListing listing) {
  auto graph = alembic::read_graph(std::move(listing));
  return AlembicFiles{std::move(project), std::move(graph)};
}

std::optional<AlembicFiles> read_alembic_files(const Config& config) {
  auto project = find_alembic_project(config);
  if (!project) return std::nullopt;
  auto listing = alembic::list_revisions(*project);
  return read_alembic_files(std::move(*project), std::move(listing));
}

CommandEngine::CommandEngine(const Config& config, Session& session, const std::optional<std::string>& tenant,
                             std::optional<std::optional<AlembicFiles>> alembic_files)
    : m_config(config), m_session(session), m_tenant(tenant),
      m_version_table(version_table_for(config.alembic_version_table, tenant)) {
  if (!alembic_files) alembic_files = read_alembic_files(config);
  if (!config.fast_path) {
    m_no_fast_path = "AUTO_MIGRATE_FAST_PATH=off";
  } else if (config.django_manifest) {
    use_django_manifest();
  } else if (*alembic_files) {
    const alembic::Project& project = (*alembic_files)->project;
    m_graph = std::move((*alembic_files)->graph);
    m_alembic_dirs = project.version_dirs;
    m_alembic_dirs.insert(m_alembic_dirs.begin(), project.script_dir);
    const std::string other_config = other_alembic_config(config);
    for (const std::string& doubt : {project.uncertain_reason, other_config}) {
      if (doubt.empty() || !m_graph->certain) continue;
      m_graph->certain = false;
      m_graph->uncertain_reason = doubt;
    }
  } else if (django::command_runs_migrate(config.migrate_command) ||
             django::holds_django_migrations(config.migrations_dir)) {
    // Django applies every installed app's migrations, site-packages' included: the files
    // of one folder cannot say that nothing is pending.
    m_no_fast_path = "Django applies the migrations of every installed app (the project's and those of the packages "
                     "in site-packages), which the files in " + config.migrations_dir.string() +
                     " (AUTO_MIGRATE_DIR) do not show; set AUTO_MIGRATE_DJANGO_MIGRATIONS to a manifest of them "
                     "(docs/command-mode.md: Django)";
    warn_once("the migrator runs on every start: " + m_no_fast_path);
  } else {
    m_files_digest = migration_files_digest(config.migrations_dir);
    if (!m_files_digest) {
      m_no_fast_path = config.migrations_dir.string() + " (AUTO_MIGRATE_DIR) is not a directory, so there are no "
                       "files to compare with the migrator's last success";
    }
  }
}

void CommandEngine::use_django_manifest() {
  const std::filesystem::path& file = *m_config.django_manifest;
  try {
    m_django = django::read_manifest(file);
  } catch (const UsageError& e) {
    throw UsageError(std::string("AUTO_MIGRATE_DJANGO_MIGRATIONS: ") + e.what());
  }
  // A manifest kept in the repository rather than written by the image build falls behind
  // the files: the project's own migration files must all be in it.
  if (django::runs_syncdb(m_config.migrate_command)) {
    m_no_fast_path = "the command runs migrate --run-syncdb, which creates the tables of apps without migrations, "
                     "and no manifest of the migration graph shows those";
    warn_once("the migrator runs on every start: " + m_no_fast_path);
    return;
  }
  const auto missing =
      django::files_missing_from(*m_django, django::project_root(m_config.migrate_command, file));
  if (!missing.empty()) {
    m_no_fast_path = file.string() + " (AUTO_MIGRATE_DJANGO_MIGRATIONS) names no migration " + missing.front() +
                     (missing.size() > 1 ? " (and " + std::to_string(missing.size() - 1) + " more)" : "") +
                     " of the project: probably written before these files; write it where the image is built "
                     "(docs/command-mode.md: Django)";
    warn_once("the migrator runs on every start: " + m_no_fast_path);
    return;
  }
  m_files_digest = m_django->digest;
}

void CommandEngine::warn_once(const std::string& message) {
  // One engine per tenant: said once a run, not once a schema.
  static bool said = false;
  if (!std::exchange(said, true)) log_event(spdlog::level::warn, "migrator.fast_path_off", message, {{"reason", message}});
}

std::string CommandEngine::up_to_date_detail() const {
  // Only asked once a fast path said "nothing pending": which one did.
  if (m_graph && m_ahead) {
    return "Alembic at " + joined(*m_rows) + ", ahead of this image's head " + joined(m_graph->heads);
  }
  if (m_graph) return "Alembic at head " + joined(m_graph->heads);
  if (m_django && m_files_digest) return "the migrator's last success had the Django migrations of " + m_django->file.string();
  if (m_files_digest) return "the migrator's last success had these files";
  return "the migrator has nothing to do";
}

std::string CommandEngine::fast_path_kind() const {
  if (m_graph) return "alembic";
  if (!m_files_digest) return "none";
  return m_django ? "django" : "files";
}

std::optional<std::string> CommandEngine::pending_reason() {
  if (!m_no_fast_path.empty()) return "no fast path: " + m_no_fast_path;
  if (m_graph) {
    if (!m_graph->certain) return "the Alembic revisions cannot be read with certainty (" + m_graph->uncertain_reason + ")";
    m_ahead = m_unknown = false;
    m_rows = read_alembic_versions(m_session.connection, m_version_table, m_state_read);
    if (!m_rows) {
      m_state_read = TableRead::quiet;
      return m_version_table.display() + " does not exist yet";
    }
    if (alembic::database_at_heads(*m_graph, *m_rows)) return std::nullopt;
    const std::string reason = "the database is at " +
                               (m_rows->empty() ? std::string("no revision") : joined(*m_rows)) +
                               ", the revision files' head is " + joined(m_graph->heads);
    return alembic::unknown_rows(*m_graph, *m_rows).empty() ? reason : beyond_these_files(reason);
  }
  const auto recorded = read_recorded_digest(m_session.connection, run_record_table(m_config.ledger),
                                             m_config.migrate_command_text, m_tenant, m_state_read);
  if (!recorded) m_state_read = TableRead::quiet;
  if (recorded && *recorded == *m_files_digest) return std::nullopt;
  if (!recorded) return "no success of this command is recorded yet";
  if (m_django) return "the Django migrations in " + m_django->file.string() + " changed since the migrator's last success";
  return "the files in " + m_config.migrations_dir.string() + " changed since the migrator's last success";
}

bool CommandEngine::up_to_date(MigrateOutcome& outcome) {
  const auto reason = pending_reason();
  if (!reason) {
    ++outcome.already_applied;
    return true;
  }
  spdlog::info("the migrator is to run: {}", *reason);
  return false;
}

std::int64_t CommandEngine::lock_key() {
  if (!m_lock_key) {
    // The .sql engine's key for the same database and ledger: replicas of both kinds (an
    // image that switches to command mode) never migrate at once.
    const LedgerName ledger = m_tenant ? LedgerName{*m_tenant, m_config.ledger.table} : m_config.ledger;
    m_lock_key = migration_lock_key(m_config, m_session.connection, ledger);
  }
  return *m_lock_key;
}

bool CommandEngine::still_needed(const std::string& holder_note) {
  if (is_failure_note(holder_note)) take_holder_failure(holder_note);
  if (m_no_fast_path.empty() && m_graph && m_graph->certain) {
    auto rows = alembic_rows_in_note(holder_note, m_place.table_schema, m_version_table.display());
    if (rows && alembic::database_at_heads(*m_graph, *rows)) {
      m_rows = std::move(rows);
      spdlog::debug("the lock holder left {} at these files' heads ({}): not asking the database",
                    m_version_table.display(), joined(m_graph->heads));
      return false;
    }
  } else if (m_no_fast_path.empty() && m_files_digest &&
             note_records_files(holder_note, m_place, m_config.migrate_command_text, *m_files_digest)) {
    spdlog::debug("the lock holder's migrator succeeded with these files: not asking the database");
    return false;
  }
  return pending_reason().has_value();
}

bool CommandEngine::client_check_holds(const std::string& tag) const {
  if (!m_session.connection.server_at_least(14)) return false;
  // A URL with options of its own gets the check added there; whatever refuses the
  // parameter then refuses the migrator without migrate-init too.
  if (pg::sets_parameter(m_config.migration_url(), "options")) return true;
  const std::string refusal = pg::startup_options_refusal(
      {m_config.migration_url(), m_config.migration_url_source(), m_config.wait, tag, k_client_check_option});
  if (refusal.empty()) return true;
  log_event(spdlog::level::warn, "migrator.no_client_check",
            "the way to the server refuses the startup parameter options (" + refusal +
                "; a pooler?): the migrator connects without client_connection_check_interval, so a statement of "
                "a migrator killed mid-run goes on until the next lock holder cancels it (docs/command-mode.md: behind "
                "a pooler)",
            {{"reason", refusal}});
  return false;
}

std::optional<MigratorTarget> CommandEngine::migrator_target() {
  // Only the files a fast path may trust: otherwise they may not be what the migrator reads.
  if (!m_no_fast_path.empty() || (m_graph && !m_graph->certain)) return std::nullopt;
  const auto digest = m_files_digest ? m_files_digest : migration_files_digest(m_alembic_dirs);
  if (!digest) return std::nullopt;
  const pg::Result place = m_session.connection.exec_params(
      "SELECT coalesce($1::text, current_schema(), ''), current_setting('search_path')", {m_tenant});
  return MigratorTarget{place.value(0, 0), place.value(0, 1), m_config.migrate_command_text, *digest};
}

void CommandEngine::take_holder_failure(const std::string& holder_note) {
  const auto ran_on = migrator_target();
  const auto failure = ran_on ? failure_in_note(holder_note, *ran_on) : std::nullopt;
  if (!failure) return; // other files, schema or command: this one's migrator may do better
  throw Error(ExitCode::migration_failed,
              "the lock holder's migrator failed on these same files (" + failure->ending + ", migrate-init " +
                  failure->holder + "); not run again here: the next start runs it again (" +
                  one_line(m_config.migrate_command_text) + ")");
}

std::string CommandEngine::failure_note_of(const MigratorResult& result) {
  try {
    const auto ran_on = migrator_target();
    return ran_on ? failure_holder_note(*ran_on, {ending(result), std::to_string(getpid()) + "@" + host_name()}) : "";
  } catch (const std::exception& e) {
    // The migrator's failure is what this start reports, not a note that could not be made.
    spdlog::debug("no failure note for the waiters: {}", e.what());
    return "";
  }
}

std::unique_ptr<pg::AdvisoryLock> CommandEngine::lock(const pg::AdvisoryLock::StillNeeded& still_needed) {
  // Where the fast path's table is, as a waiter sees it, to compare with a holder's note.
  if (m_no_fast_path.empty() && m_graph && m_graph->certain) {
    m_place.table_schema = table_schema(m_session.connection, m_version_table);
  } else if (m_no_fast_path.empty() && m_files_digest) {
    m_place = record_place(m_session.connection, run_record_table(m_config.ledger), m_tenant);
  }
  auto lock = take_migration_lock(m_config, m_session.connection, lock_key(), still_needed);
  // The lock's session sits idle while the migrator works, maybe for hours. Not asked of a
  // waiter that found the work done: it leaves at once, and 31 of them woken together would
  // each add a round trip before their service starts.
  if (lock->held() && m_session.connection.server_at_least(14)) {
    m_session.connection.exec("SET idle_session_timeout = 0");
  }
  return lock;
}

EngineWork CommandEngine::apply(MigrateOutcome& outcome) {
  if (!pending_reason()) return {false, "", ""};
  pg::Connection& connection = m_session.connection;
  const std::string tag_prefix = k_tag + std::to_string(lock_key()) + " ";
  // A migrator left by a holder that was SIGKILLed may still run its statement.
  pg::end_tagged_sessions(connection, tag_prefix, "an earlier migrator's");
  if (m_tenant) create_missing_tenant_schema(connection, *m_tenant);
  // application_name keeps 63 bytes; the prefix comes first and stays whole.
  const std::string tag = (tag_prefix + std::to_string(getpid()) + "@" + host_name()).substr(0, 63);

  MigratorRun run;
  run.argv = m_config.migrate_command;
  run.environment =
      migrator_environment(current_environment(), {m_config.migration_url(), tag, m_tenant, client_check_holds(tag),
                                                   connection.connection_option("options")});
  run.grace = m_config.migrate_command_grace;
  run.heartbeat = k_heartbeat;
  run.on_line = [](bool is_stderr, std::string_view line) {
    log_event(spdlog::level::info, "migrator.output", "migrator: " + std::string(line),
              {{"stream", is_stderr ? "stderr" : "stdout"}, {"line", std::string(line)}});
  };
  run.on_heartbeat = [](std::chrono::milliseconds elapsed) {
    spdlog::info("still running the migrator: {} s", elapsed.count() / 1000);
  };
  // The lock lives as long as its session: watched for as long as the migrator runs, and
  // kept open by the migrator's keeper until nothing the migrator started is left, even if
  // migrate-init is SIGKILLed.
  pg::SessionWatch lock_session(connection);
  run.guard = &lock_session;
  run.hold_until_gone = PQsocket(connection.get());
  log_event(spdlog::level::info, "migrator.start",
            "running the migrator" + (m_tenant ? " for tenant " + *m_tenant : std::string()) + ": " +
                one_line(m_config.migrate_command_text),
            {{"command", m_config.migrate_command_text}, {"tenant", m_tenant.value_or("")}});
  MigratorResult result;
  try {
    result = run_migrator(run);
  } catch (...) {
    // A probe still under way would make the next statement fail ("another command is
    // already in progress") and hide why this run ends.
    if (!lock_session.finish()) pg::end_tagged_sessions(connection, tag_prefix, "the migrator's");
    throw;
  }
  if (!result.guard_failure.empty()) throw lock_lost(result, true);
  if (auto lost = lock_session.finish()) {
    result.guard_failure = *lost;
    throw lock_lost(result, false);
  }
  pg::end_tagged_sessions(connection, tag_prefix, "the migrator's");
  const bool ok = result.exit_code == 0 && result.signal == 0;
  log_event(ok ? spdlog::level::info : spdlog::level::err, "migrator.done",
            fmt::format("the migrator {} after {} ms", ok ? "succeeded" : "failed (" + ending(result) + ")",
                        result.duration_ms),
            {{"exit_code", static_cast<long long>(result.exit_code)},
             {"signal", result.signal ? signal_name(result.signal) : std::string()},
             {"duration_ms", result.duration_ms}});
  if (!ok) {
    // Told to the waiters, unless a signal ended it: that says nothing of the files.
    if (!result.signal) m_failure_note = failure_note_of(result);
    throw Error(ExitCode::migration_failed,
                "the migrator failed: " + failure_text(result) + " (" + one_line(m_config.migrate_command_text) + ")");
  }
  ++outcome.applied;
  EngineWork work{true, "ran the migrator", ""};
  if (m_files_digest) {
    const LedgerName table = run_record_table(m_config.ledger);
    pg::in_context("the migrator succeeded, but recording its success in " + table.display() + " failed", [&] {
      record_success(connection, table, m_config.migrate_command_text, m_tenant, *m_files_digest, result.duration_ms);
    });
    // Where the record went now: the migrator may have created the schema it is in.
    work.holder_note =
        files_holder_note(record_place(connection, table, m_tenant), m_config.migrate_command_text, *m_files_digest);
  } else if (m_graph && m_graph->certain) {
    // Read once more under the lock: the waiters are told what it holds (holder_note.hpp).
    if (!pending_reason()) {
      // Where the table is now, not where it was to be: the migrator may have created the
      // schema that comes first on search_path (a waiter that asked before then asks again).
      work.holder_note =
          alembic_holder_note(table_schema(connection, m_version_table), m_version_table.display(), *m_rows);
      if (!m_ahead) record_known_revisions();
    } else {
      // Said once here rather than found out as a migrator started on every restart.
      spdlog::warn("the migrator succeeded, but {} is not at the heads migrate-init read ({}): is AUTO_MIGRATE_DIR "
                   "or AUTO_MIGRATE_ALEMBIC_INI the project the command upgrades? Until then every start runs it",
                   m_version_table.display(), joined(m_graph->heads));
    }
  }
  return work;
}

std::optional<std::string> CommandEngine::beyond_these_files(const std::string& reason) {
  const auto recorded = read_recorded_revisions(m_session.connection, revision_record_table(m_config.ledger),
                                                m_config.alembic_version_table.display());
  const alembic::Standing standing = alembic::standing_of(*m_graph, *m_rows, recorded);
  if (!standing.ahead) {
    m_unknown = true;
    return reason + ": " + standing.why;
  }
  m_ahead = true;
  if (!std::exchange(m_warned_ahead, true)) {
    // The .sql engine's rule: start-up never rolls back, a database ahead of the image is a warning.
    log_event(spdlog::level::warn, "alembic.ahead",
              "the database is ahead of this image: at " + joined(*m_rows) + ", which a newer image recorded; " +
                  "this image's head is " + joined(m_graph->heads),
              {{"current", joined(*m_rows)}, {"heads", joined(m_graph->heads)}});
  }
  return std::nullopt;
}

void CommandEngine::record_known_revisions() {
  const LedgerName table = revision_record_table(m_config.ledger);
  try {
    pg::in_context("recording the Alembic revisions in " + table.display(), [&] {
      record_revisions(m_session.connection, table, m_config.alembic_version_table.display(),
                       alembic::revisions_to_record(*m_graph));
    });
  } catch (const Error& e) {
    // The migrator succeeded: the record only helps an older image started later, so a
    // failure to write it does not fail this start.
    spdlog::warn("{}; an older image started on this database will not know it is ahead of it", e.what());
  }
}

} // namespace migrate_init
