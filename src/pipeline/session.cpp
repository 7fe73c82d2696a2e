#include "pipeline/session.hpp"

#include "lock_key.hpp"
#include "pipeline/ledger_name.hpp"
#include "log.hpp"
#include "pg/connect.hpp"
#include "pg/pooler_probe.hpp"
#include "pg/url_reading.hpp"
#include "text.hpp"
#include "version.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace migrate_init {

Session::Session(const Config& config, std::size_t file_count, const WaitBreaker* breaker)
    : connection([&] {
        // Rendered from migrate-init's reading of the URL, so that the log shows its user,
        // hosts and database even where they hold pieces of the password.
        const Rendering shown = pg::shown_url(config.migration_url());
        add_log_rendering(shown);
        const std::string target = shown.text.empty() ? "the database named by PG* variables" : shown.text;
        const std::string what =
            config.command_mode()
                ? "migrator " + one_line(config.migrate_command_text)
                : counted(static_cast<long long>(file_count), "migration", "migrations") + " in " +
                      config.migrations_dir.string();
        log_event(spdlog::level::info, "migrate.start",
                  fmt::format("migrate-init {}: {}; connecting to {}", k_version, what, target),
                  {{"tool_version", k_version}, {"files", static_cast<long long>(file_count)},
                   {"dir", config.migrations_dir.string()}, {"database", target},
                   {"command", config.migrate_command_text}});
        return pg::connect_with_wait(
            {config.migration_url(), config.migration_url_source(), config.wait, pg::default_application_name(), "",
             breaker});
      }()) {}

std::int64_t migration_lock_key(const Config& config, const std::string& database, const std::string& schema,
                                const LedgerName& ledger) {
  return config.lock_key.value_or(derive_lock_key(database, schema, ledger.table));
}

std::int64_t migration_lock_key(const Config& config, pg::Connection& connection, const LedgerName& ledger) {
  if (config.lock_key) return *config.lock_key;
  // Where the .sql engine's Ledger::inspect() finds the table, or would create it.
  const pg::Result place = connection.exec_params(
      "SELECT current_database(),"
      "       coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      "                  WHERE c.oid = to_regclass($1)), $2, current_schema(), '')",
      {ledger.quoted(), ledger.schema});
  return migration_lock_key(config, place.value(0, 0), place.value(0, 1), ledger);
}

std::unique_ptr<pg::AdvisoryLock> take_migration_lock(const Config& config, pg::Connection& connection,
                                                      std::int64_t key, const pg::AdvisoryLock::StillNeeded& still_needed) {
  spdlog::info("taking the migration lock (key {})", key);
  // Through a pooler or proxy the backend's client socket is not this one: only then can a
  // transaction-pooling pooler be in between, and only then is a second connection spent
  // on probing for one (many replicas of a fleet starting at once can find the lock free
  // together, each probing before the first takes it: a connection storm).
  const pg::BackendLink link = pg::backend_link(connection);
  const auto before_taking = [&] {
    // A failing query here is not "waiting for the migration lock" (AdvisoryLock's context).
    pg::in_context("checking the connection before taking the migration lock", [&] {
      if (!link.own_socket &&
          pg::behind_transaction_pooler(connection, {config.migration_url(), config.migration_url_source(),
                                                     config.wait, pg::default_application_name(), ""})) {
        throw Error(ExitCode::migration_failed,
                    "refusing to take the migration lock through a transaction-pooling connection pooler (two "
                    "client connections shared one server backend): a session lock would not hold; point "
                    "AUTO_MIGRATE_DATABASE_URL at PostgreSQL directly");
      }
      // Let the server notice a vanished lock holder within seconds, its lock then drops:
      // TCP keepalives for a holder cut off while idle, and (PostgreSQL 14+) a check of the
      // client socket every few seconds while a statement runs, so that a SIGKILLed holder's
      // long statement is cancelled and rolled back instead of keeping the lock to its end.
      // Plain SETs in one round trip, by server version rather than a look in pg_settings:
      // that view builds every setting's row, a cost each of many replicas would add at
      // start-up. tcp_user_timeout 0: a server-wide lower value would free the lock before a
      // holder cut off notices (within 12 s, pg/session_watch.hpp) and stops its migrator.
      return connection.exec(std::string("SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; "
                                         "SET tcp_keepalives_count = 3; SET tcp_user_timeout = 0") +
                             (connection.server_at_least(14) ? "; SET client_connection_check_interval = '5s'" : ""));
    });
  };
  // Connected to PostgreSQL itself, the check runs only once the lock is found free
  // (AdvisoryLock::BeforeTaking): a replica that waits and is told the work is done opens no
  // second connection. Through anything else, at once: a transaction-pooling pooler is
  // refused before any wait, and no wait is spent on a pooled connection. Either way the
  // check comes before every attempt that can take the lock.
  if (!link.own_key) before_taking();
  return std::make_unique<pg::AdvisoryLock>(connection, key, config.lock_timeout, still_needed,
                                            link.own_key ? pg::AdvisoryLock::BeforeTaking(before_taking)
                                                         : pg::AdvisoryLock::BeforeTaking());
}

bool has_tenants(const Config& config) { return !config.schemas.empty() || !config.schemas_query.empty(); }

std::vector<std::string> tenant_schemas(const Config& config, Session& session) {
  if (!config.schemas.empty()) return config.schemas;
  const pg::Result result =
      pg::in_context("AUTO_MIGRATE_SCHEMAS_QUERY failed", [&] { return session.connection.exec(config.schemas_query); });
  std::vector<std::string> schemas;
  for (int row = 0; row < result.rows(); ++row) schemas.push_back(result.value(row, 0));
  return schemas;
}

void enter_tenant_schema(Session& session, const std::string& schema) {
  session.connection.exec("SET search_path TO " + session.connection.escape_identifier(schema));
}

void create_missing_tenant_schema(pg::Connection& connection, const std::string& schema) {
  // Asked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists.
  if (connection.exec_params("SELECT to_regnamespace(quote_ident($1)) IS NULL", {schema}).value(0, 0) != "t") return;
  spdlog::info("creating tenant schema {}", schema);
  pg::in_context("creating tenant schema " + schema,
                 [&] { return connection.exec("CREATE SCHEMA IF NOT EXISTS " + connection.escape_identifier(schema)); });
}

} // namespace migrate_init
