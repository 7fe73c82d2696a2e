#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace migrate_init {

// The ledger table's name as the user gave it: `table` or `schema.table`.
struct LedgerName {
  std::optional<std::string> schema; // absent: the first schema of search_path
  std::string table = "schema_migrations";

  // `"schema"."table"` or `"table"`, safe to paste into SQL.
  std::string quoted() const;
  // As the user wrote it, for messages.
  std::string display() const;
};

// Parses AUTO_MIGRATE_TABLE. Each part must be a plain identifier (letters, digits, _ and $,
// not starting with a digit); it is used exactly as written, quoted. Throws UsageError.
LedgerName parse_ledger_name(std::string_view source, std::string_view text);

// Double-quotes an identifier, doubling embedded quotes. For names this program checked
// itself (AUTO_MIGRATE_TABLE) and for text that is only ever passed as a query parameter;
// any other value that reaches SQL text goes through the connection's own escaping
// (pg::Connection::escape_identifier / escape_literal), which knows its settings.
std::string quote_identifier(std::string_view identifier);

} // namespace migrate_init
