#include "settings_table.hpp"

#include <array>
#include <sstream>

namespace migrate_init {
namespace {

constexpr std::array k_settings{
    SettingSpec{"auto-migrate", "AUTO_MIGRATE", "true",
                "run pending migrations before the service", true},
    SettingSpec{"fail-on-error", "AUTO_MIGRATE_FAIL_ON_ERROR", "false",
                "on a migration failure, exit instead of starting the service", true},
    SettingSpec{"database-url", "DATABASE_URL", "libpq's PG* variables",
                "postgres:// or postgresql:// URI (postgresql+DRIVER:// too), or key=value conninfo", false},
    SettingSpec{"migrate-database-url", "AUTO_MIGRATE_DATABASE_URL", "DATABASE_URL",
                "the URL to migrate with (DDL credentials); removed from the service's environment", false},
    SettingSpec{"dir", "AUTO_MIGRATE_DIR", "./migrations", "where the .sql files are", false},
    SettingSpec{"table", "AUTO_MIGRATE_TABLE", "schema_migrations",
                "the ledger table, optionally schema-qualified", false},
    SettingSpec{"wait", "AUTO_MIGRATE_WAIT", "30",
                "seconds to wait for the database to accept connections", false},
    SettingSpec{"lock-timeout", "AUTO_MIGRATE_LOCK_TIMEOUT", "300",
                "seconds to wait for another instance's migration lock", false},
    SettingSpec{"lock-key", "AUTO_MIGRATE_LOCK_KEY", "derived",
                "64-bit advisory lock key (default: from database, schema and table)", false},
    SettingSpec{"log-level", "AUTO_MIGRATE_LOG_LEVEL", "info", "debug, info, warn or error", false},
    SettingSpec{"mode", "AUTO_MIGRATE_MODE", "auto",
                "how to run the service: auto (supervise as PID 1, else exec), supervise or exec", false},
    SettingSpec{"process-group", "AUTO_MIGRATE_PROCESS_GROUP", "false",
                "when supervising, forward signals to the service's whole process group", true},
    SettingSpec{"stop-timeout", "AUTO_MIGRATE_STOP_TIMEOUT", "0 (off)",
                "when supervising, SIGKILL the service this many seconds after forwarding SIGTERM or SIGINT",
                false},
    SettingSpec{"allow-drift", "AUTO_MIGRATE_ALLOW_DRIFT", "false",
                "warn instead of stopping when an applied migration's file has changed", true},
    SettingSpec{"allow-out-of-order", "AUTO_MIGRATE_ALLOW_OUT_OF_ORDER", "false",
                "apply a pending file whose version is lower than the newest applied one", true},
    SettingSpec{"baseline", "AUTO_MIGRATE_BASELINE", "none",
                "on an empty ledger, record every file up to this version as applied without running it", false},
    SettingSpec{"db-lock-timeout", "AUTO_MIGRATE_DB_LOCK_TIMEOUT", "5",
                "PostgreSQL lock_timeout in seconds for migration statements (0: off)", false},
    SettingSpec{"db-lock-retries", "AUTO_MIGRATE_DB_LOCK_RETRIES", "6",
                "attempts for a migration that hits lock_timeout, with backoff between them", false},
    SettingSpec{"statement-timeout", "AUTO_MIGRATE_STATEMENT_TIMEOUT", "0 (off)",
                "PostgreSQL statement_timeout in seconds for migration statements, never for CONCURRENTLY ones",
                false},
    SettingSpec{"required", "AUTO_MIGRATE_REQUIRED", "none",
                "migrations that must be applied before the service starts: ids or versions, comma-separated, or all",
                false},
    SettingSpec{"wait-for-schema", "AUTO_MIGRATE_WAIT_FOR_SCHEMA", "0 (off)",
                "with AUTO_MIGRATE=false, seconds to wait until every file is applied by someone else", false},
    SettingSpec{"schemas", "AUTO_MIGRATE_SCHEMAS", "none",
                "tenant schemas to migrate in turn, comma-separated, each with its own ledger and lock", false},
    SettingSpec{"schemas-query", "AUTO_MIGRATE_SCHEMAS_QUERY", "none",
                "a query whose first column lists the tenant schemas", false},
    SettingSpec{"log-format", "AUTO_MIGRATE_LOG_FORMAT", "text", "text, or json: one JSON object per line", false},
    SettingSpec{"migrate-command", "AUTO_MIGRATE_COMMAND", "none",
                "run this migrator under the lock instead of applying .sql files: a JSON array (no shell) or a "
                "string for /bin/sh -c",
                false},
    SettingSpec{"migrate-command-grace", "AUTO_MIGRATE_COMMAND_GRACE", "10",
                "seconds between forwarding a stop signal to the migrator and SIGKILLing it", false},
    SettingSpec{"fast-path", "AUTO_MIGRATE_FAST_PATH", "auto",
                "command mode: auto skips the migrator when nothing is pending (Alembic heads, or the files of its "
                "last success); off always runs it",
                false},
    SettingSpec{"alembic-ini", "AUTO_MIGRATE_ALEMBIC_INI", "alembic.ini",
                "command mode: the Alembic config whose script_location holds the revisions", false},
    SettingSpec{"alembic-version-table", "AUTO_MIGRATE_ALEMBIC_VERSION_TABLE", "alembic_version",
                "command mode: Alembic's version table, optionally schema-qualified", false},
    SettingSpec{"django-migrations", "AUTO_MIGRATE_DJANGO_MIGRATIONS", "none",
                "command mode: a manifest of the Django migration graph (\"APP NAME\" a line), written where the "
                "image is built; without it Django's migrator runs on every start",
                false},
};

} // namespace

std::span<const SettingSpec> settings_table() { return k_settings; }

const SettingSpec* find_setting(std::string_view flag) {
  for (const auto& spec : settings_table()) {
    if (flag == spec.flag) return &spec;
  }
  return nullptr;
}

std::string help_text() {
  std::ostringstream out;
  out << "Usage:\n"
         "  migrate-init [options] -- COMMAND [ARGS...]   migrate, then run COMMAND\n"
         "  migrate-init migrate [options]                migrate and exit\n"
         "  migrate-init status [--json] [options]        list migrations: applied, pending, changed, unfinished\n"
         "  migrate-init plan [--json] [options]          what would run, changing nothing\n"
         "  migrate-init verify [--json] [options]        exit 0 if the database matches the files, else 5\n"
         "  migrate-init repair VERSION --applied|--retry resolve an unfinished migration, or record a file\n"
         "                                                that ran outside migrate-init as applied (--applied)\n"
         "  migrate-init repair --checksums               record the files' checksums in rows that have none\n"
         "  migrate-init rollback [--to VERSION]          run the down sections of the latest migrations\n"
         "  migrate-init check [--json] [options]         read the migrations offline: exit 5 on what would fail\n"
         "\n"
         "Settings: each is read from its environment variable; its flag wins.\n";
  // One entry per setting, flag and variable on the first line, so nothing wraps apart.
  for (const auto& spec : settings_table()) {
    out << "  --" << spec.flag << (spec.is_boolean ? "[=BOOL]" : "=VALUE") << "  " << spec.env << " (default "
        << spec.default_text << ")\n      " << spec.meaning << "\n";
  }
  out << "\n"
         "Other options:\n"
         "  --json             status, plan, verify, check: print JSON\n"
         "  --to VERSION       rollback: undo every migration after VERSION (default: only the latest)\n"
         "  --applied          repair: record the unfinished (or pending) migration as applied, not run\n"
         "  --retry            repair: resume the unfinished migration at its failed statement\n"
         "  --checksums        repair: record the files' checksums in applied rows that have none\n"
         "  -h, --help         print this help;  -V, --version  print the version\n"
         "\n"
         "Booleans take true/false, 1/0, yes/no, on/off; an empty variable counts as unset.\n"
         "Exit codes: 0 ok, 1 migration failed, 2 usage error, 3 lock wait timed out,\n"
         "4 database unreachable, 5 the database and the files disagree, 126 command not\n"
         "executable, 127 command not found, 128+N interrupted by signal N while migrating;\n"
         "otherwise the service's own exit code.\n";
  return out.str();
}

} // namespace migrate_init
