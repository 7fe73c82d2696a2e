#include "pipeline/ledger_name.hpp"

#include "error.hpp"
#include "setting_values.hpp"

#include <cctype>

namespace migrate_init {
namespace {

constexpr std::size_t k_max_identifier_length = 63; // PostgreSQL's NAMEDATALEN - 1

bool is_plain_identifier(std::string_view part) {
  if (part.empty() || part.size() > k_max_identifier_length) return false;
  if (std::isdigit(static_cast<unsigned char>(part.front())) || part.front() == '$') return false;
  for (char c : part) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$')) return false;
  }
  return true;
}

} // namespace

std::string quote_identifier(std::string_view identifier) {
  std::string out = "\"";
  for (char c : identifier) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string LedgerName::quoted() const {
  return schema ? quote_identifier(*schema) + "." + quote_identifier(table) : quote_identifier(table);
}

std::string LedgerName::display() const { return schema ? *schema + "." + table : table; }

LedgerName parse_ledger_name(std::string_view source, std::string_view text) {
  LedgerName name;
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) {
    name.table = std::string(text);
  } else {
    name.schema = std::string(text.substr(0, dot));
    name.table = std::string(text.substr(dot + 1));
  }
  if ((name.schema && !is_plain_identifier(*name.schema)) || !is_plain_identifier(name.table)) {
    throw UsageError(std::string(source) + ": " + quote_value(text) +
                     " is not a table name (use table or schema.table, letters, digits and _)");
  }
  return name;
}

} // namespace migrate_init
