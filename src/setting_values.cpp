#include "setting_values.hpp"

#include "error.hpp"
#include "text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace migrate_init {
namespace {

[[noreturn]] void invalid(std::string_view source, std::string_view text, std::string_view expected) {
  throw UsageError(std::string(source) + ": " + quote_value(text) + " is not " + std::string(expected));
}

} // namespace

std::string quote_value(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  // printable() adds \xHH escapes only after the backslashes were doubled: they stay single.
  return "\"" + printable(escaped) + "\"";
}

bool parse_bool(std::string_view source, std::string_view text) {
  const std::string value = lowercase(text);
  if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
  if (value == "false" || value == "0" || value == "no" || value == "off") return false;
  invalid(source, text, "a boolean (use true/false, 1/0, yes/no or on/off)");
}

std::chrono::milliseconds parse_seconds(std::string_view source, std::string_view text) {
  constexpr double k_max_seconds = 10.0 * 365 * 24 * 3600;
  const std::string_view expected = "a number of seconds (for example 30 or 2.5)";
  // Digits with at most one decimal point; no sign, exponent, spaces, "inf" or "nan".
  bool seen_digit = false;
  bool seen_point = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      seen_digit = true;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      invalid(source, text, expected);
    }
  }
  if (!seen_digit) invalid(source, text, expected);
  double seconds = 0;
  try {
    seconds = std::stod(std::string(text));
  } catch (const std::out_of_range&) {
    // Beyond double's range, or so small it underflows: neither is a sensible wait.
    invalid(source, text, "a number of seconds (at most ten years)");
  }
  if (!std::isfinite(seconds) || seconds > k_max_seconds) {
    invalid(source, text, "a number of seconds (at most ten years)");
  }
  // Rounded to the nearest millisecond by hand (seconds is never negative here): std::llround
  // was the binary's only use of libm, which would otherwise be loaded at every start.
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
}

std::int64_t parse_int64(std::string_view source, std::string_view text) {
  std::int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    invalid(source, text, "a 64-bit integer (-9223372036854775808 to 9223372036854775807)");
  }
  return value;
}

} // namespace migrate_init
