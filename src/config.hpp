#pragma once

#include "pipeline/ledger_name.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace migrate_init {

// What the invocation asks for.
enum class Command {
  run,     // migrate (per AUTO_MIGRATE), then run the service command
  migrate, // migrate and exit: init containers, one-shot jobs, CI
  status,  // list every migration with its state
  plan,    // what would run, changing nothing
  verify,  // does the database match the files? changing nothing
  repair,  // resolve an unfinished migration, record one that ran elsewhere, or record missing checksums
  rollback, // run down sections of the latest migrations (development, emergencies)
  check,    // read the migrations, without a database: what would be refused (CI)
  help,
  version,
};

// How the service command is run after migrating.
enum class RunMode {
  automatic, // supervise when PID 1, exec otherwise
  supervise, // stay as the service's parent: forward signals, reap zombies
  exec,      // replace migrate-init with the service
};

// Every setting, resolved: flags win over the environment, which wins over defaults.
struct Config {
  Command command = Command::run;
  bool auto_migrate = true;
  bool fail_on_error = false;
  std::string database_url;                  // DATABASE_URL; empty: libpq's PG* variables decide
  std::string database_url_source = "DATABASE_URL"; // where it came from, for messages
  std::string migrate_database_url;          // AUTO_MIGRATE_DATABASE_URL: DDL credentials, if separate
  std::string migrate_database_url_source = "AUTO_MIGRATE_DATABASE_URL";
  std::filesystem::path migrations_dir = "./migrations";
  LedgerName ledger;
  std::chrono::milliseconds wait{std::chrono::seconds(30)};
  std::chrono::milliseconds lock_timeout{std::chrono::seconds(300)};
  std::optional<std::int64_t> lock_key; // absent: derived from database, schema and table
  std::string log_level = "info";
  RunMode mode = RunMode::automatic;
  bool process_group = false;                 // forward signals to the service's process group
  std::chrono::milliseconds stop_timeout{0};  // SIGKILL the service this long after SIGTERM; 0: off
  bool allow_drift = false;                   // a changed applied file is a warning, not an error
  bool allow_out_of_order = false;            // apply a pending file older than the newest applied
  std::optional<std::string> baseline;        // record files up to this version as applied, once
  std::chrono::milliseconds db_lock_timeout{std::chrono::seconds(5)}; // PostgreSQL lock_timeout; 0: off
  int db_lock_retries = 6;                    // attempts when a migration hits lock_timeout
  std::chrono::milliseconds statement_timeout{0}; // PostgreSQL statement_timeout; 0: off
  std::vector<std::string> required;          // AUTO_MIGRATE_REQUIRED: ids or versions, or {"all"}
  std::chrono::milliseconds wait_for_schema{0}; // with AUTO_MIGRATE=false: wait this long for the schema
  std::vector<std::string> schemas;           // AUTO_MIGRATE_SCHEMAS: tenant schemas, in order
  std::string schemas_query;                  // AUTO_MIGRATE_SCHEMAS_QUERY: lists the tenant schemas
  bool json_logs = false;                     // AUTO_MIGRATE_LOG_FORMAT=json

  // Command mode (AUTO_MIGRATE_COMMAND): the project's own migrator runs instead of the .sql files.
  std::vector<std::string> migrate_command;   // its argv (a string command: /bin/sh -c TEXT); empty: .sql files
  std::string migrate_command_text;           // as given, for messages and the record of its last success
  std::chrono::milliseconds migrate_command_grace{std::chrono::seconds(10)}; // SIGTERM, then SIGKILL this later
  bool fast_path = true;                      // skip the migrator when nothing is pending; false: always run it
  std::filesystem::path alembic_ini = "alembic.ini"; // where an Alembic project's script_location is read
  LedgerName alembic_version_table{std::nullopt, "alembic_version"};
  std::optional<std::filesystem::path> django_manifest; // AUTO_MIGRATE_DJANGO_MIGRATIONS: Django's migration graph
  bool command_mode() const { return !migrate_command.empty(); }

  // The URL (and the setting it came from) that migrating connects with.
  const std::string& migration_url() const { return migrate_database_url.empty() ? database_url : migrate_database_url; }
  const std::string& migration_url_source() const {
    return migrate_database_url.empty() ? database_url_source : migrate_database_url_source;
  }

  // Subcommand arguments.
  bool json = false;                          // status, plan, verify: JSON on stdout
  std::optional<std::string> rollback_to;     // rollback --to VERSION
  std::optional<std::string> repair_version;  // repair VERSION
  bool repair_applied = false;                // repair --applied
  bool repair_retry = false;                  // repair --retry
  bool repair_checksums = false;              // repair --checksums
  std::vector<std::string> service_command; // after `--`, exactly as given
};

// Looks up one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads a secret file named by a *_FILE variable; throws UsageError naming `source`.
using SecretFileReader = std::function<std::string(const std::string& path, const std::string& source)>;

// Reads the file from disk, without its trailing newline.
SecretFileReader read_secret_file();

// The real process environment.
EnvLookup process_environment();

// Builds the Config from argv (without argv[0]) and the environment. Pure: the only
// input is its arguments. Throws UsageError naming the flag or variable and the value.
Config parse_config(const std::vector<std::string>& args, const EnvLookup& env,
                    const SecretFileReader& read_file = read_secret_file());

// Variables that hold migrate-init's own DDL credentials; removed from the service's
// environment so the service never holds them.
inline constexpr const char* k_migration_only_variables[] = {"AUTO_MIGRATE_DATABASE_URL",
                                                             "AUTO_MIGRATE_DATABASE_URL_FILE"};

} // namespace migrate_init
