#pragma once

#include "redact.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// Sends every log line to stderr, through a sink that redacts credentials (redact.hpp)
// whatever code wrote the line. Text: `<UTC time> migrate-init <level>: <message>`, the
// message's control characters escaped (text_log_message). JSON: one object per line,
// {"time", "level", "event", "message", ...fields}, every text redacted.
void setup_logging(const std::string& level, bool json = false);

// Adds a password to hide in every line from now on: the whole of it and every piece of
// k_secret_piece_length bytes. Passwords only: the pieces of a whole connection string
// ("post", "gres", "ql:/") would mask half of every line.
void add_log_secret(const std::string& secret);

// Shows the plain parts of `rendering` (a connection setting as migrate-init renders it,
// its password masked) wherever the log shows it whole, even where they hold pieces of a
// password: see KnownSecrets::add_rendering.
void add_log_rendering(Rendering rendering);

// `text` redacted as the log redacts it, with every secret added so far: for text that
// leaves migrate-init another way than the log.
std::string redact_with_log_secrets(std::string_view text);

// Forgets every secret added so far; for tests, so that each starts with none.
void forget_log_secrets();

// The message of a text log line as it is written: redacted, then its control characters
// escaped, so that every line is one physical line whatever a file, tenant or server
// message held (a newline or an ESC would otherwise forge lines or drive the terminal). Pure.
std::string text_log_message(std::string_view message, const KnownSecrets& secrets);

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
