#include "command/command_state.hpp"

#include "host_name.hpp"

namespace migrate_init {
namespace {

// TableRead::quiet: to_regclass says whether the table exists, query_to_xml runs the SELECT
// only then (a Result node's one-time filter is checked before its target list). The value
// of each row comes back as an element of a text array.
const char* k_rows_if_table_exists =
    "SELECT coalesce((xpath('/table/row/v/text()', query_to_xml(format('SELECT %s AS v FROM %s %s', $2::text, "
    "to_regclass($1), $3::text), false, false, '')))::text[], '{}') WHERE to_regclass($1) IS NOT NULL";

// PostgreSQL's text[] output, {a,"b c"}, as strings. Only what array_out writes for text.
std::vector<std::string> parse_text_array(const std::string& text) {
  std::vector<std::string> items;
  if (text.size() < 2 || text == "{}") return items;
  std::size_t at = 1;
  while (at < text.size() - 1) {
    std::string item;
    if (text[at] == '"') {
      for (++at; at < text.size() && text[at] != '"'; ++at) {
        if (text[at] == '\\' && at + 1 < text.size()) ++at;
        item += text[at];
      }
      ++at; // the closing quote
    } else {
      while (at < text.size() - 1 && text[at] != ',') item += text[at++];
    }
    items.push_back(item);
    if (at < text.size() && text[at] == ',') ++at;
  }
  return items;
}

// One column of a table that may not exist: nullopt when it (or its schema) does not.
std::optional<std::vector<std::string>> column_if_table_exists(pg::Connection& connection, const LedgerName& table,
                                                               const std::string& column, const std::string& where,
                                                               TableRead how) {
  if (how == TableRead::quiet) {
    const pg::Result result = connection.exec_params(k_rows_if_table_exists, {table.quoted(), column, where});
    if (result.rows() == 0) return std::nullopt;
    // query_to_xml escapes the values as XML text, xpath's text() gives them back escaped.
    std::vector<std::string> values;
    for (auto value : parse_text_array(result.value(0, 0))) {
      for (const auto& [entity, plain] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"},
                                          {"&amp;", "&"}}) {
        for (std::size_t at = value.find(entity); at != std::string::npos; at = value.find(entity, at + 1)) {
          value.replace(at, std::string_view(entity).size(), plain);
        }
      }
      values.push_back(value);
    }
    return values;
  }
  try {
    const pg::Result result = connection.exec("SELECT " + column + " FROM " + table.quoted() + " " + where);
    std::vector<std::string> values;
    values.reserve(static_cast<std::size_t>(result.rows()));
    for (int row = 0; row < result.rows(); ++row) values.push_back(result.value(row, 0));
    return values;
  } catch (const pg::DatabaseError& e) {
    if (e.sqlstate() == "42P01" || e.sqlstate() == "3F000") return std::nullopt; // undefined table, schema
    throw;
  }
}

// The target schema as SQL: the tenant's name, else current_schema().
std::string target_schema_sql(pg::Connection& connection, const std::optional<std::string>& tenant) {
  return tenant ? connection.escape_literal(*tenant) : "current_schema()";
}

// In the transaction of record_success(): the run table ready for a row keyed by command and
// schema. Tenants that share it (a schema-qualified ledger) hold different migration locks:
// a transaction lock lets one at a time create or change it.
void prepare_run_table(pg::Connection& connection, const LedgerName& table) {
  connection.exec_params("SELECT pg_advisory_xact_lock(hashtext('migrate_init_runs'), hashtext($1))", {table.quoted()});
  const pg::Result state = connection.exec_params(
      "SELECT $2::text IS NULL OR to_regnamespace(quote_ident($2::text)) IS NOT NULL, to_regclass($1) IS NOT NULL,"
      " EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'target_schema'"
      " AND NOT attisdropped),"
      " (SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p')",
      {table.quoted(), table.schema});
  // Asked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists.
  if (state.value(0, 0) == "f") connection.exec("CREATE SCHEMA " + connection.escape_identifier(*table.schema));
  if (state.value(0, 1) == "f") {
    connection.exec("CREATE TABLE " + table.quoted() +
                    " (command text NOT NULL, target_schema text NOT NULL, files_digest text NOT NULL,"
                    " succeeded_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint NOT NULL, host text NOT NULL,"
                    " PRIMARY KEY (command, target_schema))");
  } else if (state.value(0, 2) == "f") {
    // A table keyed by the command alone: its rows do not say which schema they were about,
    // so they get one no reader asks for ('') and are never trusted again.
    std::string alter = "ALTER TABLE " + table.quoted() + " ADD COLUMN target_schema text NOT NULL DEFAULT ''";
    if (!state.is_null(0, 3)) alter += ", DROP CONSTRAINT " + connection.escape_identifier(state.value(0, 3));
    connection.exec(alter + ", ADD PRIMARY KEY (command, target_schema)");
  }
}

} // namespace

std::optional<std::vector<std::string>> read_alembic_versions(pg::Connection& connection, const LedgerName& table,
                                                              TableRead how) {
  return column_if_table_exists(connection, table, "version_num", "", how);
}

std::string table_schema(pg::Connection& connection, const LedgerName& table) {
  return connection
      .exec_params("SELECT coalesce((SELECT relnamespace::regnamespace::text FROM pg_catalog.pg_class"
                   " WHERE oid = to_regclass($1)), quote_ident($2::text), quote_ident(current_schema()))",
                   {table.quoted(), table.schema})
      .value(0, 0);
}

LedgerName run_record_table(const LedgerName& ledger) { return LedgerName{ledger.schema, "migrate_init_runs"}; }

std::optional<std::string> read_recorded_digest(pg::Connection& connection, const LedgerName& table,
                                                const std::string& command, const std::optional<std::string>& tenant,
                                                TableRead how) {
  // Through to_jsonb: a table from before has no target_schema column, and reading it must
  // find no record rather than fail.
  const std::string where = "t WHERE command = " + connection.escape_literal(command) +
                            " AND to_jsonb(t) ->> 'target_schema' = " + target_schema_sql(connection, tenant);
  const auto digests = column_if_table_exists(connection, table, "files_digest", where, how);
  if (!digests || digests->empty()) return std::nullopt;
  return digests->front();
}

RecordPlace record_place(pg::Connection& connection, const LedgerName& table, const std::optional<std::string>& tenant) {
  const pg::Result result = connection.exec_params(
      "SELECT coalesce((SELECT relnamespace::regnamespace::text FROM pg_catalog.pg_class"
      " WHERE oid = to_regclass($1)), quote_ident($2::text), quote_ident(current_schema())),"
      " coalesce($3::text, current_schema(), '')",
      {table.quoted(), table.schema, tenant});
  return {result.value(0, 0), result.value(0, 1)};
}

void record_success(pg::Connection& connection, const LedgerName& table, const std::string& command,
                    const std::optional<std::string>& tenant, const std::string& digest, long long duration_ms) {
  pg::run_in_transaction(connection, [&] {
    prepare_run_table(connection, table);
    connection.exec_params("INSERT INTO " + table.quoted() +
                               " (command, target_schema, files_digest, duration_ms, host)"
                               " VALUES ($1, coalesce($2::text, current_schema(), ''), $3, $4, $5)"
                               " ON CONFLICT (command, target_schema) DO UPDATE SET files_digest = excluded.files_digest,"
                               " succeeded_at = now(), duration_ms = excluded.duration_ms, host = excluded.host",
                           {command, tenant, digest, std::to_string(duration_ms), host_name()});
  });
}

} // namespace migrate_init
