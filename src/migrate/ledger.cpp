#include "migrate/ledger.hpp"

#include "host_name.hpp"
#include "version.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <array>

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
  const std::string checksum = info.has("checksum") ? "checksum" : "NULL";
  const std::string applied_at = info.has("applied_at") ? "applied_at::text" : "NULL";
  return fmt::format("SELECT v, coalesce(n, ''), c, coalesce(a, '') FROM (SELECT {} AS v, {} AS n, {} AS c, {} AS a "
                     "FROM {}) AS ledger WHERE v IS NOT NULL",
                     version, name, checksum, applied_at, table);
}

} // namespace

LedgerInfo Ledger::inspect() {
  const pg::Result result = m_connection.exec_params(
      "SELECT current_database(), coalesce($2, current_schema(), ''),"
      "       (SELECT string_agg(attname::text, ',') FROM pg_attribute"
      "         WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped)",
      {m_name.quoted(), m_name.schema});
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

std::vector<LedgerRow> Ledger::read(const LedgerInfo& info) {
  std::vector<LedgerRow> rows;
  if (!info.exists()) return rows;
  const pg::Result result = m_connection.exec(select_rows_sql(info, m_name.quoted()));
  rows.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    rows.push_back(LedgerRow{result.value(row, 0), result.value(row, 1), result.optional_value(row, 2),
                             result.value(row, 3)});
  }
  return rows;
}

LedgerInfo Ledger::ensure(const LedgerInfo& info) {
  const std::string table = m_name.quoted();
  if (!info.exists()) {
    spdlog::info("creating ledger table {}", m_name.display());
    std::string sql;
    if (m_name.schema) sql += "CREATE SCHEMA IF NOT EXISTS " + quote_identifier(*m_name.schema) + ";\n";
    sql += "CREATE TABLE IF NOT EXISTS " + table +
           " (version text PRIMARY KEY, name text NOT NULL, checksum text,"
           " applied_at timestamptz NOT NULL DEFAULT now(), execution_ms bigint, applied_by text)";
    m_connection.exec(sql);
    return inspect();
  }
  static constexpr std::array<std::pair<const char*, const char*>, 6> k_columns{{
      {"version", "text"}, {"name", "text"}, {"checksum", "text"},
      {"applied_at", "timestamptz DEFAULT now()"}, {"execution_ms", "bigint"}, {"applied_by", "text"}}};
  std::string additions;
  for (const auto& [column, type] : k_columns) {
    if (info.has(column)) continue;
    additions += (additions.empty() ? "" : ", ") + fmt::format("ADD COLUMN {} {}", column, type);
  }
  if (additions.empty()) return info;
  spdlog::info("adopting existing ledger {}: adding the columns it lacks; its rows count as applied", m_name.display());
  std::string sql = "BEGIN;\nALTER TABLE " + table + " " + additions + ";\n";
  if (info.has("id")) {
    sql += fmt::format("UPDATE {} SET version = coalesce(version, {}), name = coalesce(name, {}) "
                       "WHERE version IS NULL OR name IS NULL;\n",
                       table, k_version_from_id, k_name_from_id);
  }
  sql += "COMMIT";
  m_connection.exec(sql);
  return inspect();
}

void Ledger::record(const LedgerInfo& info, const Migration& migration, long long execution_ms) {
  std::vector<std::optional<std::string>> params{migration.file.version, migration.file.name, migration.checksum,
                                                 std::to_string(execution_ms), applied_by()};
  std::string sql = "INSERT INTO " + m_name.quoted() + " (version, name, checksum, execution_ms, applied_by";
  if (info.has("id")) {
    sql += ", id) VALUES ($1, $2, $3, $4, $5, $6)";
    params.emplace_back(migration.file.id());
  } else {
    sql += ") VALUES ($1, $2, $3, $4, $5)";
  }
  m_connection.exec_params(sql, params);
}

std::string applied_by() {
  static const std::string value = host_name() + " migrate-init/" + k_version;
  return value;
}

} // namespace migrate_init
