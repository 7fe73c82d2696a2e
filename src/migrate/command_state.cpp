#include "migrate/command_state.hpp"

#include "host_name.hpp"

namespace migrate_init {
namespace {

// One column of a table that may not exist, in one round trip and without an error in the
// server's log: to_regclass says whether it exists, query_to_xml runs the SELECT only then
// (a Result node's one-time filter is checked before its target list). The value of each
// row comes back as an element of a text array.
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

std::optional<std::vector<std::string>> column_if_table_exists(pg::Connection& connection, const LedgerName& table,
                                                               const std::string& column, const std::string& where) {
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

} // namespace

std::optional<std::vector<std::string>> read_alembic_versions(pg::Connection& connection, const LedgerName& table) {
  return column_if_table_exists(connection, table, "version_num", "");
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
                                                const std::string& command) {
  const auto digests =
      column_if_table_exists(connection, table, "files_digest", "WHERE command = " + connection.escape_literal(command));
  if (!digests || digests->empty()) return std::nullopt;
  return digests->front();
}

void record_success(pg::Connection& connection, const LedgerName& table, const std::string& command,
                    const std::string& digest, long long duration_ms) {
  connection.exec("CREATE TABLE IF NOT EXISTS " + table.quoted() +
                  " (command text PRIMARY KEY, files_digest text NOT NULL, succeeded_at timestamptz NOT NULL"
                  " DEFAULT now(), duration_ms bigint NOT NULL, host text NOT NULL)");
  connection.exec_params("INSERT INTO " + table.quoted() +
                             " (command, files_digest, duration_ms, host) VALUES ($1, $2, $3, $4)"
                             " ON CONFLICT (command) DO UPDATE SET files_digest = excluded.files_digest,"
                             " succeeded_at = now(), duration_ms = excluded.duration_ms, host = excluded.host",
                         {command, digest, std::to_string(duration_ms), host_name()});
}

} // namespace migrate_init
