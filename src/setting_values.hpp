#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace migrate_init {

// Converters from a setting's text to its value. Pure; each throws UsageError with a
// one-line message that names `source` (the flag or environment variable) and the value.

// true/false, 1/0, yes/no, on/off, in any case.
bool parse_bool(std::string_view source, std::string_view text);

// A non-negative number of seconds, fractions allowed ("2", "0.5"); at most ten years.
std::chrono::milliseconds parse_seconds(std::string_view source, std::string_view text);

// A signed 64-bit integer in decimal, as PostgreSQL's advisory lock functions take it.
std::int64_t parse_int64(std::string_view source, std::string_view text);

// Quotes a value for a message: "value", with quotes and backslashes escaped by a
// backslash, and control characters and bytes that are not UTF-8 as \xHH.
std::string quote_value(std::string_view text);

} // namespace migrate_init
