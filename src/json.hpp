#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// A JSON string literal: quoted, with quotes, backslashes and control characters escaped.
std::string json_quote(std::string_view text);

// One JSON object, built field by field in order. Small on purpose: migrate-init writes
// JSON (status, plan, verify, check) and reads only one form of it (below).
class JsonObject {
public:
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  JsonObject& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
  JsonObject& add(std::string_view key, const std::optional<std::string>& value); // null when absent
  JsonObject& add(std::string_view key, long long value);
  JsonObject& add(std::string_view key, bool value);
  // A value that is already JSON (an object or array).
  JsonObject& add_raw(std::string_view key, const std::string& json);
  // Every field of `other`, after this object's own.
  JsonObject& add_fields(const JsonObject& other);
  std::string str() const { return "{" + m_fields + "}"; }

private:
  JsonObject& field(std::string_view key, const std::string& json);
  std::string m_fields;
};

// A JSON array of values that are already JSON.
std::string json_array(const std::vector<std::string>& items);
// A JSON array of strings: each item quoted (json_quote).
std::string json_string_array(const std::vector<std::string>& items);

// Reads a JSON array of strings, such as an exec-form command `["alembic", "upgrade", "head"]`
// (whitespace allowed, every escape including \uXXXX surrogate pairs). Throws
// std::invalid_argument saying what is wrong and at which character. Pure.
std::vector<std::string> parse_json_string_array(std::string_view text);

} // namespace migrate_init
