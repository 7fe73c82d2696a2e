#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// Sends every log line to stderr, through a sink that redacts credentials (redact.hpp)
// whatever code wrote the line. Text: `<UTC time> migrate-init <level>: <message>`.
// JSON: one object per line, {"time", "level", "event", "message", ...fields}.
void setup_logging(const std::string& level, bool json = false);

// Adds a value (a password, or a whole connection string) to hide verbatim in every line.
void add_log_secret(const std::string& secret);

// Flushes pending lines; call before exec, which would drop them.
void flush_logs();

// One structured field of an event: a key and its value, already JSON.
struct LogField {
  LogField(std::string key_, std::string_view text); // a string
  LogField(std::string key_, const char* text) : LogField(std::move(key_), std::string_view(text)) {}
  LogField(std::string key_, const std::string& text) : LogField(std::move(key_), std::string_view(text)) {}
  LogField(std::string key_, long long number);
  LogField(std::string key_, bool flag);

  std::string key;
  std::string value;    // a string as is, or a number or boolean as JSON
  bool is_text = false; // a string: redacted like the message, then quoted
};

// Logs `message` as a named event with fields. Text logs show the message only; JSON logs
// carry the event name and every field. Plain spdlog calls are events named "log".
void log_event(spdlog::level::level_enum level, std::string_view event, const std::string& message,
               std::vector<LogField> fields = {});

} // namespace migrate_init
