#include "json.hpp"

#include <cstdio>

namespace migrate_init {

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += escaped;
      } else {
        out += c;
      }
    }
  }
  return out + "\"";
}

JsonObject& JsonObject::field(std::string_view key, const std::string& json) {
  if (!m_fields.empty()) m_fields += ",";
  m_fields += json_quote(key) + ":" + json;
  return *this;
}

JsonObject& JsonObject::add(std::string_view key, std::string_view value) { return field(key, json_quote(value)); }

JsonObject& JsonObject::add(std::string_view key, const std::optional<std::string>& value) {
  return field(key, value ? json_quote(*value) : "null");
}

JsonObject& JsonObject::add(std::string_view key, long long value) { return field(key, std::to_string(value)); }

JsonObject& JsonObject::add(std::string_view key, bool value) { return field(key, value ? "true" : "false"); }

JsonObject& JsonObject::add_raw(std::string_view key, const std::string& json) { return field(key, json); }

JsonObject& JsonObject::add_fields(const JsonObject& other) {
  if (!m_fields.empty() && !other.m_fields.empty()) m_fields += ",";
  m_fields += other.m_fields;
  return *this;
}

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

} // namespace migrate_init
