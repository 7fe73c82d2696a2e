#include "sql_files/ledger.hpp"

#include "host_name.hpp"
#include "log.hpp"
#include "version.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <array>
#include <optional>
#include <string_view>

namespace migrate_init {
namespace {

// A seed-style ledger names migrations "001_initial_schema" in `id`.
constexpr const char* k_version_from_id = "substring(id from '^[0-9]+')";
constexpr const char* k_name_from_id = "substring(id from '^[0-9]+_(.*)$')";

std::string select_rows_sql(const LedgerInfo& info, const std::string& table) {
  const bool id = info.has("id");
  const std::string version = info.has("version") ? (id ? fmt::format("coalesce(version::text, {})", k_version_from_id)
                                                        : std::string("version::text"))
                                                  : std::string(k_version_from_id);
  const std::string name = info.has("name") ? (id ? fmt::format("coalesce(name, {})", k_name_from_id) : "name")
                                            : (id ? std::string(k_name_from_id) : std::string("NULL"));
  const auto column_or = [&](const char* column, const char* fallback) {
    return info.has(column) ? std::string(column) : std::string(fallback);
  };
  return fmt::format("SELECT v, coalesce(n, ''), c, coalesce(a, ''), s, d, t, e FROM (SELECT {} AS v, {} AS n, {} AS c, "
                     "{} AS a, {} AS s, {} AS d, {} AS t, {} AS e FROM {}) AS ledger WHERE v IS NOT NULL",
                     version, name, column_or("checksum", "NULL"),
                     info.has("applied_at") ? "applied_at::text" : "NULL", column_or("state", "'applied'"),
                     column_or("statements_done", "0"), column_or("statements_total", "0"),
                     column_or("last_error", "NULL::text"), table);
}

// Every column migrate-init uses, with the type it adds to a ledger that lacks it.
constexpr std::array<std::pair<const char*, const char*>, 10> k_columns{{
    {"version", "text"},
    {"name", "text"},
    {"checksum", "text"},
    {"applied_at", "timestamptz DEFAULT now()"},
    {"execution_ms", "bigint"},
    {"applied_by", "text"},
    {"state", "text NOT NULL DEFAULT 'applied'"},
    {"statements_done", "integer NOT NULL DEFAULT 0"},
    {"statements_total", "integer NOT NULL DEFAULT 0"},
    {"last_error", "text"},
}};

// The rows of a select_rows_sql() result.
std::vector<LedgerRow> rows_from(const pg::Result& result) {
  std::vector<LedgerRow> rows;
  rows.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    rows.push_back(LedgerRow{result.value(row, 0), result.value(row, 1), result.optional_value(row, 2),
                             result.value(row, 3), result.value(row, 4), std::stoi(result.value(row, 5)),
                             std::stoi(result.value(row, 6)), result.optional_value(row, 7)});
  }
  return rows;
}

// A name as quote_ident prints it (pg_identify_object's schema, regnamespace): quoted, with
// "" for ", when it needs quoting. The lock key and table_sql() take the name itself.
std::string unquote_identifier(const std::string& printed) {
  if (printed.size() < 2 || printed.front() != '"' || printed.back() != '"') return printed;
  std::string name;
  for (std::size_t i = 1; i + 1 < printed.size(); ++i) {
    name += printed[i];
    if (printed[i] == '"') ++i; // "" stands for one "
  }
  return name;
}

// The leading ASCII digits of `id`, as substring(id from '^[0-9]+') gives them; nullopt
// for none.
std::optional<std::string> version_from_id(const std::string& id) {
  std::size_t digits = 0;
  while (digits < id.size() && id[digits] >= '0' && id[digits] <= '9') ++digits;
  return digits == 0 ? std::nullopt : std::optional<std::string>(id.substr(0, digits));
}

// What follows "<digits>_" in `id`, as substring(id from '^[0-9]+_(.*)$') gives it.
std::optional<std::string> name_from_id(const std::string& id) {
  const auto version = version_from_id(id);
  if (!version || version->size() >= id.size() || id[version->size()] != '_') return std::nullopt;
  return id.substr(version->size() + 1);
}

// Types whose text output is what a ::text cast of them gives (not char(n), which the cast
// trims, nor boolean, which it spells out): text, varchar, name, the integers, numeric,
// date, timestamp and timestamptz.
bool prints_as_its_text_cast(unsigned type) {
  for (unsigned plain : {25u, 1043u, 19u, 20u, 21u, 23u, 1700u, 1082u, 1114u, 1184u}) {
    if (type == plain) return true;
  }
  return false;
}

// text, varchar, name: what substring(id from ...) takes as it is (an integer id makes the
// SQL fail, and so must the fast path: it falls back to it).
bool is_text_type(unsigned type) { return type == 25u || type == 1043u || type == 19u; }

// The rows of `SELECT * FROM ledger`, mapped as select_rows_sql() maps them in SQL, so that
// the fast path asks the server for nothing but the table (no casts, functions or subquery
// to plan in a fresh session: about a third of its cost). nullopt when a column the SQL
// casts, cuts or coalesces with text (version, applied_at, name, id) is of a type whose
// output differs from its text cast (char(n) pads), or id is not text: read() then does it
// in SQL.
std::optional<std::vector<LedgerRow>> rows_of_whole_table(const pg::Result& result) {
  const auto column = [&](std::string_view name) {
    for (int i = 0; i < result.columns(); ++i) {
      if (result.column_name(i) == name) return i;
    }
    return -1;
  };
  const int version = column("version"), id = column("id"), name = column("name"), checksum = column("checksum"),
            applied_at = column("applied_at"), state = column("state"), done = column("statements_done"),
            total = column("statements_total"), last_error = column("last_error");
  for (const int cast : {version, applied_at, name}) {
    if (cast >= 0 && !prints_as_its_text_cast(result.column_type(cast))) return std::nullopt;
  }
  if (id >= 0 && !is_text_type(result.column_type(id))) return std::nullopt;
  const auto at = [&](int row, int col) { return col < 0 ? std::nullopt : result.optional_value(row, col); };
  std::vector<LedgerRow> rows;
  rows.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    const auto row_id = at(row, id);
    auto row_version = at(row, version);
    if (!row_version && row_id) row_version = version_from_id(*row_id);
    if (!row_version) continue; // WHERE v IS NOT NULL
    auto row_name = at(row, name);
    if (!row_name && row_id) row_name = name_from_id(*row_id);
    rows.push_back(LedgerRow{*row_version, row_name.value_or(""), at(row, checksum), at(row, applied_at).value_or(""),
                             state < 0 ? std::string("applied") : result.value(row, state),
                             done < 0 ? 0 : std::stoi(result.value(row, done)),
                             total < 0 ? 0 : std::stoi(result.value(row, total)), at(row, last_error)});
  }
  return rows;
}

} // namespace

LedgerInfo Ledger::info_from(const pg::Result& result) {
  LedgerInfo info{result.value(0, 0), result.value(0, 1), {}};
  if (!result.is_null(0, 2)) {
    const std::string columns = result.value(0, 2);
    std::size_t start = 0;
    for (std::size_t comma = columns.find(','); ; comma = columns.find(',', start)) {
      info.columns.insert(columns.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return checked(std::move(info));
}

LedgerInfo Ledger::checked(LedgerInfo info) {
  m_schema = info.schema;
  if (info.exists() && info.has("dirty") && !info.has("name")) {
    throw Error(ExitCode::migration_failed,
                "table " + m_name.display() + " looks like golang-migrate's ledger (it has a dirty column); "
                "set AUTO_MIGRATE_TABLE to another table name");
  }
  if (info.exists() && !info.has("version") && !info.has("id")) {
    throw Error(ExitCode::migration_failed, "table " + m_name.display() +
                                                " exists but is not a migration ledger (no version or id column); "
                                                "set AUTO_MIGRATE_TABLE to another table name");
  }
  return info;
}

LedgerInfo Ledger::inspect() {
  return info_from(m_connection.exec_params(
      "SELECT current_database(),"
      "       coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      "                  WHERE c.oid = to_regclass($1)), $2, current_schema(), ''),"
      "       (SELECT string_agg(attname::text, ',') FROM pg_attribute"
      "         WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped)",
      {m_name.quoted(), m_name.schema})); // resolved through search_path only here
}

std::pair<LedgerInfo, std::vector<LedgerRow>> Ledger::inspect_and_read() {
  // One message, two statements, cheap for the server in a fresh session: the database, the
  // table's schema (syscache look-ups: pg_identify_object, not a query of pg_class, which in
  // a new backend cost more than the rest together) and the current schema, then the whole
  // table, whose field names are its columns and whose rows are mapped here
  // (rows_of_whole_table). The second fails when the table is missing (a first start; the
  // server logs that once): the first then says all inspect() would (no columns, and the
  // schema it would be created in), which every replica of a fleet starting on a fresh
  // database would otherwise ask again, in a query of pg_class and pg_attribute.
  const std::string table = table_sql(); // as configured: through search_path without a schema
  const auto results = m_connection.exec_batch(
      "SELECT pg_catalog.current_database(), (pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, "
      "pg_catalog.to_regclass(" + m_connection.escape_literal(table) + "), 0)).schema, pg_catalog.current_schema();\n"
      "SELECT * FROM " + table);
  if (results.size() == 1 && results[0].rows() == 1 && results[0].is_null(0, 1)) {
    // As inspect() has it: coalesce(the configured schema, current_schema(), '').
    return {checked({results[0].value(0, 0), m_name.schema.value_or(results[0].value(0, 2)), {}}), {}};
  }
  if (results.size() < 2 || results[0].is_null(0, 1)) {
    LedgerInfo info = inspect();
    std::vector<LedgerRow> rows = read(info);
    return {std::move(info), std::move(rows)};
  }
  LedgerInfo found{results[0].value(0, 0), unquote_identifier(results[0].value(0, 1)), {}};
  for (int column = 0; column < results[1].columns(); ++column) found.columns.insert(results[1].column_name(column));
  LedgerInfo info = checked(std::move(found));
  if (auto rows = rows_of_whole_table(results[1])) return {std::move(info), std::move(*rows)};
  std::vector<LedgerRow> rows = read(info);
  return {std::move(info), std::move(rows)};
}

std::vector<LedgerRow> Ledger::read(const LedgerInfo& info) {
  if (!info.exists()) return {};
  return rows_from(pg::in_context("reading the ledger " + m_name.display(),
                         [&] { return m_connection.exec(select_rows_sql(info, table_sql())); }));
}

LedgerInfo Ledger::ensure(const LedgerInfo& info, bool keyed_by_id) {
  const std::string table = table_sql();
  if (!info.exists()) {
    spdlog::info("creating ledger table {}{}", m_name.display(),
                 keyed_by_id ? " keyed by id, as the migration files that record themselves in it expect" : "");
    std::string sql;
    if (m_name.schema) sql += "CREATE SCHEMA IF NOT EXISTS " + m_connection.escape_identifier(*m_name.schema) + ";\n";
    // A file's own `INSERT ... (id)` comes before migrate-init's row in the same
    // transaction: only `id` may be required, and the row is then completed on it.
    sql += "CREATE TABLE IF NOT EXISTS " + table +
           (keyed_by_id ? " (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), version text UNIQUE, name text"
                        : " (version text PRIMARY KEY, name text NOT NULL");
    for (const auto& [column, type] : k_columns) {
      const std::string_view name = column;
      if (name != "version" && name != "name" && !(keyed_by_id && name == "applied_at")) {
        sql += fmt::format(", {} {}", column, type);
      }
    }
    pg::in_context("creating the ledger " + m_name.display(), [&] { return m_connection.exec(sql + ")"); });
    return inspect();
  }
  std::string additions;
  for (const auto& [column, type] : k_columns) {
    if (info.has(column)) continue;
    additions += (additions.empty() ? "" : ", ") + fmt::format("ADD COLUMN {} {}", column, type);
  }
  if (additions.empty()) return info;
  if (!info.has("version") || !info.has("name")) {
    spdlog::info("adopting existing ledger {}: adding the columns it lacks; its rows count as applied",
                 m_name.display());
  }
  std::string sql = "BEGIN;\nALTER TABLE " + table + " " + additions + ";\n";
  if (info.has("id")) {
    sql += fmt::format("UPDATE {} SET version = coalesce(version, {}), name = coalesce(name, {}) "
                       "WHERE version IS NULL OR name IS NULL;\n",
                       table, k_version_from_id, k_name_from_id);
  }
  pg::in_context("adding columns to the ledger " + m_name.display(), [&] { return m_connection.exec(sql + "COMMIT"); });
  return inspect();
}

namespace {

// INSERT of a row with the given extra columns; adds `id` for seed-style ledgers.
void insert_row(pg::Connection& connection, const LedgerInfo& info, const std::string& table,
                const Migration& migration, const std::vector<std::pair<std::string, std::optional<std::string>>>& extra) {
  std::vector<std::optional<std::string>> params{migration.file.version, migration.file.name, migration.checksum,
                                                 applied_by()};
  std::string columns = "version, name, checksum, applied_by";
  for (const auto& [column, value] : extra) {
    columns += ", " + column;
    params.push_back(value);
  }
  if (info.has("id")) {
    columns += ", id";
    params.emplace_back(migration.file.id());
  }
  std::string placeholders;
  for (std::size_t i = 1; i <= params.size(); ++i) placeholders += (i > 1 ? ", $" : "$") + std::to_string(i);
  connection.exec_params("INSERT INTO " + table + " (" + columns + ") VALUES (" + placeholders + ")", params);
}

} // namespace

std::string Ledger::record_applied_sql(const LedgerInfo& info, const Migration& migration) {
  std::string columns = "version, name, checksum, applied_by, execution_ms";
  std::string values = m_connection.escape_literal(migration.file.version) + ", " +
                       m_connection.escape_literal(migration.file.name) + ", " +
                       m_connection.escape_literal(migration.checksum) + ", " + m_connection.escape_literal(applied_by()) +
                       // Sent in the same message as the file: statement_timestamp() is when it arrived.
                       ", (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint";
  std::string upsert;
  if (info.has("id")) {
    columns += ", id";
    values += ", " + m_connection.escape_literal(migration.file.id());
    // The file may have recorded itself a moment ago, in the same transaction (psql-era
    // `INSERT INTO schema_migrations (id) ... ON CONFLICT DO NOTHING`): complete that row.
    if (id_is_unique()) {
      upsert = " ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, name = EXCLUDED.name, checksum = "
               "EXCLUDED.checksum, applied_by = EXCLUDED.applied_by, execution_ms = EXCLUDED.execution_ms";
    }
  }
  // Session-level RESETs are fine here: the next file's session reset does the same.
  return "RESET SESSION AUTHORIZATION;\nRESET ROLE;\nINSERT INTO " + table_sql() + " (" + columns + ") VALUES (" +
         values + ")" + upsert;
}

bool Ledger::id_is_unique() {
  if (!m_id_is_unique) {
    m_id_is_unique = m_connection
                         .exec_params("SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                                      "i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass($1) AND "
                                      "i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND a.attname = 'id')",
                                      {table_sql()})
                         .value(0, 0) == "t";
  }
  return *m_id_is_unique;
}

void Ledger::record_baseline(const LedgerInfo& info, const Migration& migration) {
  insert_row(m_connection, info, table_sql(), migration, {});
}

void Ledger::record_started(const LedgerInfo& info, const Migration& migration, int statements_total) {
  insert_row(m_connection, info, table_sql(), migration,
             {{"state", "running"}, {"statements_done", "0"}, {"statements_total", std::to_string(statements_total)}});
}

void Ledger::record_progress(const std::string& version, int statements_done) {
  write("UPDATE " + table_sql() + " SET statements_done = " + std::to_string(statements_done) +
        " WHERE version = " + literal(version));
}

void Ledger::record_error(const std::string& version, const std::string& error) {
  // The ledger is readable by the app role and printed by status --json: what the log
  // would mask (a statement or a server message quoting a password) is masked here too.
  write("UPDATE " + table_sql() + " SET last_error = " + literal(redact_with_log_secrets(error)) +
        " WHERE version = " + literal(version));
}

void Ledger::record_finished(const std::string& version, const std::string& checksum,
                             std::optional<long long> execution_ms) {
  write("UPDATE " + table_sql() +
        " SET state = 'applied', statements_done = statements_total, last_error = NULL, checksum = " +
        literal(checksum) + ", execution_ms = coalesce(" +
        (execution_ms ? std::to_string(*execution_ms) : std::string("NULL")) +
        "::bigint, execution_ms), applied_at = now() WHERE version = " + literal(version));
}

void Ledger::write(const std::string& sql) {
  if (m_own_role.empty()) {
    m_connection.exec(sql);
    return;
  }
  // SET LOCAL ends with the COMMIT; READ WRITE whatever default_transaction_read_only
  // the file set. One round trip, as before.
  try {
    m_connection.exec("BEGIN READ WRITE;\nSET LOCAL ROLE " + m_connection.escape_identifier(m_own_role) + ";\n" + sql +
                      ";\nCOMMIT");
  } catch (const pg::DatabaseError&) {
    if (m_connection.in_transaction()) m_connection.exec("ROLLBACK");
    throw;
  }
}

std::string Ledger::literal(const std::optional<std::string>& value) {
  return value ? m_connection.escape_literal(*value) : std::string("NULL");
}

void Ledger::record_missing_checksum(const LedgerInfo& info, const std::string& version, const std::string& checksum) {
  // An adopted row's version comes from its id when a psql-era file wrote the row later.
  const std::string matches = info.has("id") ? fmt::format("coalesce(version, {}) = $2", k_version_from_id)
                                             : std::string("version = $2");
  m_connection.exec_params("UPDATE " + table_sql() + " SET checksum = $1 WHERE checksum IS NULL AND state = 'applied' "
                           "AND " + matches, {checksum, version});
}

void Ledger::remove(const std::string& version) {
  m_connection.exec_params("DELETE FROM " + table_sql() + " WHERE version = $1", {version});
}

std::string Ledger::table_sql() const {
  // The table name was checked by parse_ledger_name; a schema may be a tenant's, any name.
  const std::string& schema = m_name.schema ? *m_name.schema : m_schema;
  if (schema.empty()) return quote_identifier(m_name.table);
  return m_connection.escape_identifier(schema) + "." + quote_identifier(m_name.table);
}

std::string applied_by() {
  static const std::string value = host_name() + " migrate-init/" + k_version;
  return value;
}

} // namespace migrate_init
