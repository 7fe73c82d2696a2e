#include "app.hpp"

#include "config.hpp"
#include "error.hpp"
#include "log.hpp"
#include "pipeline/boot_contract.hpp"
#include "sql_files/maintenance.hpp"
#include "pipeline/migrator.hpp"
#include "pipeline/offline_check.hpp"
#include "pipeline/status.hpp"
#include "pg/connect.hpp"
#include "process/exec.hpp"
#include "process/protection.hpp"
#include "process/signal_channel.hpp"
#include "process/supervisor.hpp"
#include "redact.hpp"
#include "text.hpp"
#include "version.hpp"
#include "settings_table.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include <chrono>
#include <cstdlib>

#include <unistd.h>

#include <iostream>
#include <sstream>
#include <string_view>

namespace migrate_init {
namespace {

using Clock = std::chrono::steady_clock;

// The one summary every run ends with: what happened, and whether the service starts.
struct Summary {
  std::string outcome = "ok";   // ok, skipped, failed, interrupted, refused
  std::string service = "none"; // started, refused, none (migrate-init migrate)
  std::string reason;           // why, when not ok
  MigrateOutcome migrations;
  Clock::time_point started = Clock::now();
};

// The "ok" summary in command mode, where the unit is one migrator run per ledger.
std::string migrator_summary(const MigrateOutcome& m, long long ms) {
  std::string what;
  if (m.tenants) {
    what = fmt::format("ran the migrator for {} of {} ({} up to date)", m.applied,
                       counted(static_cast<long long>(m.tenants), "tenant schema", "tenant schemas"), m.already_applied);
  } else {
    what = m.applied ? "ran the migrator" : "did not run the migrator (nothing pending)";
  }
  return fmt::format("{} in {} ms, {} ms waiting for the lock", what, ms, m.lock_wait_ms);
}

void log_summary(const Summary& summary, bool command_mode) {
  const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - summary.started).count();
  const auto& m = summary.migrations;
  std::string text;
  if (summary.outcome == "ok" && command_mode) {
    text = migrator_summary(m, ms);
  } else if (summary.outcome == "ok") {
    // With tenants, every schema's ledger counts: 3 tenants of 2 files are 6 migrations.
    const std::string tenants =
        m.tenants ? fmt::format("{} of {} each; ", counted(static_cast<long long>(m.tenants), "tenant schema", "tenant schemas"),
                                counted(static_cast<long long>(m.files), "file", "files"))
                  : "";
    text = fmt::format("applied {} of {} ({}{} already applied) in {} ms, {} ms waiting for the lock", m.applied,
                       counted(static_cast<long long>(m.total), "migration", "migrations"), tenants, m.already_applied,
                       ms, m.lock_wait_ms);
  } else {
    text = summary.outcome + (summary.reason.empty() ? "" : ": " + summary.reason);
  }
  if (summary.service == "started") text += "; starting the service";
  if (summary.service == "refused") text += "; not starting the service";
  log_event(summary.outcome == "ok" || summary.outcome == "skipped" ? spdlog::level::info : spdlog::level::err,
            "migrate.done", "summary: " + text,
            {{"outcome", summary.outcome},
             {"service", summary.service},
             {"reason", summary.reason},
             {"applied", static_cast<long long>(m.applied)},
             {"skipped", static_cast<long long>(m.already_applied)},
             {"total", static_cast<long long>(m.total)},
             {"tenants", static_cast<long long>(m.tenants)},
             {"duration_ms", ms},
             {"lock_wait_ms", m.lock_wait_ms},
             {"engine", command_mode ? "command" : "sql"}});
}

// Ends a run that does not start the service: error line, summary, exit code.
int refuse(Summary& summary, const Error& e, const std::string& outcome, bool command_mode) {
  spdlog::error("{}", e.what());
  summary.outcome = outcome;
  summary.reason = fmt::format("{} (exit {})", e.what(), to_int(e.code()));
  if (summary.service != "none") summary.service = "refused";
  log_summary(summary, command_mode);
  return to_int(e.code());
}

// `migrate-init migrate`: any failure is a non-zero exit.
int migrate_only(const Config& config) {
  Summary summary;
  try {
    migrate(config, summary.migrations);
  } catch (const UsageError&) {
    throw;
  } catch (const Interrupted& e) {
    return refuse(summary, e, "interrupted", config.command_mode());
  } catch (const Error& e) {
    return refuse(summary, e, "failed", config.command_mode());
  }
  log_summary(summary, config.command_mode());
  return to_int(ExitCode::ok);
}

// The service never holds migrate-init's DDL credentials, and when supervising they are
// gone from migrate-init's own environment block too (process/protection.hpp).
void hide_migration_credentials() {
  for (const char* name : k_migration_only_variables) wipe_environment_variable(name);
}

bool supervises(RunMode mode) {
  return mode == RunMode::supervise || (mode == RunMode::automatic && getpid() == 1);
}

// The default command: migrate (per AUTO_MIGRATE and FAIL_ON_ERROR), check the boot
// contract, then supervise or exec the service.
int migrate_then_run(const Config& config) {
  Summary summary;
  summary.service = "started";
  if (config.auto_migrate) {
    try {
      migrate(config, summary.migrations);
    } catch (const UsageError&) {
      throw;
    } catch (const Interrupted& e) {
      return refuse(summary, e, "interrupted", config.command_mode()); // the container is being stopped
    } catch (const Error& e) {
      if (config.fail_on_error) return refuse(summary, e, "failed", config.command_mode());
      spdlog::error("{}", e.what());
      // The default keeps the documented contract; the line must not read like a detail.
      log_event(spdlog::level::err, "service.start_after_failure",
                "MIGRATION FAILED, starting the service anyway, on a database this image did not migrate "
                "(AUTO_MIGRATE_FAIL_ON_ERROR=false; set it to true to keep the service from starting)",
                {{"reason", std::string(e.what())}});
      summary.outcome = "failed";
      summary.reason = e.what();
    }
  } else {
    summary.outcome = "skipped";
    summary.reason = "AUTO_MIGRATE=false";
  }
  try {
    // Required migrations and wait-for-schema hold whatever FAIL_ON_ERROR says.
    enforce_boot_contract(config);
    // A stop signal that came in as the migrations finished still means "stop".
    signal_channel::drain("migrating");
  } catch (const Interrupted& e) {
    return refuse(summary, e, "interrupted", config.command_mode());
  } catch (const Error& e) {
    return refuse(summary, e, "refused", config.command_mode());
  }
  log_summary(summary, config.command_mode());
  hide_migration_credentials();
  if (supervises(config.mode)) {
    return supervise(config.service_command, {config.process_group, config.stop_timeout});
  }
  exec_command(config.service_command);
}

// "migrate-init 0.1.0 (libpq 15.18, OpenSSL 3.0.19)": the libpq and OpenSSL this binary
// runs with (for the static builds, the ones linked in: a security fix in either means a
// rebuild), and our patches on libpq if any ("; libpq patched: scram-hmac-key-reuse").
std::string version_line() {
  const int libpq = PQlibVersion(); // 150018 for 15.18
  const std::string_view patches = k_libpq_patches;
  return fmt::format("migrate-init {} (libpq {}.{}, OpenSSL {}{})", k_version, libpq / 10000, libpq % 10000,
                     OpenSSL_version(OPENSSL_VERSION_STRING),
                     patches.empty() ? "" : fmt::format("; libpq patched: {}", patches));
}

int dispatch(const Config& config) {
  switch (config.command) {
  case Command::help:
    std::cout << help_text();
    return to_int(ExitCode::ok);
  case Command::version:
    std::cout << version_line() << "\n";
    return to_int(ExitCode::ok);
  case Command::status:
    return print_status(config);
  case Command::plan:
    return print_plan(config);
  case Command::verify:
    return print_verify(config);
  case Command::repair:
    return repair(config);
  case Command::rollback:
    return rollback(config);
  case Command::check:
    return run_check(config, config.json);
  case Command::migrate:
    return migrate_only(config);
  case Command::run:
    break;
  }
  return migrate_then_run(config);
}

// A password given on the migrator's or the service's command line (`--password X`,
// `--password=X`) is a secret like DATABASE_URL's: hidden wherever it shows, in the
// migrator's output too. A value `$NAME` or `${NAME}` (a shell line's) is the variable's.
void hide_command_line_password(std::string value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  if (value.starts_with('$')) {
    const bool braced = value.size() > 2 && value[1] == '{' && value.back() == '}';
    const std::string name = braced ? value.substr(2, value.size() - 3) : value.substr(1);
    if (const char* named = std::getenv(name.c_str())) add_log_secret(named);
  }
  add_log_secret(value);
}

void hide_command_line_passwords(const Config& config) {
  // The words of a shell line as written, quotes and all: split at whitespace.
  std::vector<std::string> shell_words;
  std::istringstream line(config.migrate_command_text);
  for (std::string word; line >> word;) shell_words.push_back(word);
  const std::vector<std::string>& shell = shell_words;
  for (const auto* words : {&config.migrate_command, &config.service_command, &shell}) {
    for (std::size_t i = 0; i < words->size(); ++i) {
      const std::string& word = (*words)[i];
      const std::size_t equals = word.find('=');
      if (equals != std::string::npos && is_password_option(word.substr(0, equals))) {
        hide_command_line_password(word.substr(equals + 1));
      } else if (is_password_option(word) && i + 1 < words->size() && !(*words)[i + 1].starts_with("--")) {
        hide_command_line_password((*words)[i + 1]);
      }
    }
  }
  const std::string& text = config.migrate_command_text; // also as redact() finds them
  for (const auto& [begin, end] : password_option_values(text)) {
    hide_command_line_password(text.substr(begin, end - begin));
  }
}

} // namespace

int run(const std::vector<std::string>& args) {
  protect_process_memory(); // before the first read of a secret, whatever the subcommand
  setup_logging("info");
  try {
    const Config config = parse_config(args, process_environment());
    setup_logging(config.log_level, config.json_logs);
    hide_command_line_passwords(config);
    // From here on signals are read, not delivered: a stop signal can end a migration
    // cleanly, and as PID 1 none is ignored by the kernel.
    if (config.command != Command::help && config.command != Command::version) signal_channel::take_over();
    pg::validate_database_url(config.database_url, config.database_url_source);
    pg::validate_database_url(config.migrate_database_url, config.migrate_database_url_source);
    return dispatch(config);
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return to_int(e.code());
  } catch (const std::exception& e) {
    spdlog::error("unexpected error: {}", e.what());
    return to_int(ExitCode::migration_failed);
  }
}

} // namespace migrate_init
