// Fuzzes the text log's escaping (issue 14, item 9): whatever a message holds (a file or
// tenant name, a server message), its text log line is one physical line of printable UTF-8.
//
// Input layout: N SECRET[N % 16] MESSAGE
//   SECRET:  a known secret (to check that redacting first, then escaping, still holds)
//   MESSAGE: arbitrary bytes
//
// Invariants, for escape_control_characters(MESSAGE) and for the message part of a text log
// line, text_log_message(MESSAGE, {SECRET}):
//   - no C0 control, no DEL, no C1 control (U+0080 to U+009F) is left, so the line with its
//     final newline holds exactly one line break and nothing that drives a terminal;
//   - the output is valid UTF-8 (each byte that is not is written as \xHH);
// and escape_control_characters leaves valid UTF-8 without control characters unchanged,
// and changes nothing else than control characters and invalid bytes (removing its escapes
// from the output and those characters from the input leaves the same text).

#include "log.hpp"
#include "redact.hpp"
#include "text.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// The length of the valid UTF-8 sequence at `at` (0 if none): written apart from text.cpp's.
std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto b = [&](std::size_t i) { return at + i < text.size() ? static_cast<unsigned char>(text[at + i]) : 0u; };
  const auto cont = [&](std::size_t i) { return (b(i) & 0xC0u) == 0x80u; };
  const unsigned lead = b(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return cont(1) ? 2 : 0;
  if (lead == 0xE0) return b(1) >= 0xA0 && b(1) <= 0xBF && cont(2) ? 3 : 0;
  if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (lead == 0xED) return b(1) >= 0x80 && b(1) <= 0x9F && cont(2) ? 3 : 0;
  if (lead == 0xF0) return b(1) >= 0x90 && b(1) <= 0xBF && cont(2) && cont(3) ? 4 : 0;
  if (lead >= 0xF1 && lead <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (lead == 0xF4) return b(1) >= 0x80 && b(1) <= 0x8F && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

bool is_control(std::string_view character) {
  const auto first = static_cast<unsigned char>(character[0]);
  if (character.size() == 1) return first < 0x20 || first == 0x7F;
  return character.size() == 2 && first == 0xC2 && static_cast<unsigned char>(character[1]) <= 0x9F;
}

// Valid UTF-8 with no control character in it.
bool printable_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_length(text, i);
    if (length == 0 || is_control(text.substr(i, length))) return false;
    i += length;
  }
  return true;
}

// `text` without its control characters and invalid bytes.
std::string printable_part(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_length(text, i);
    if (length != 0 && !is_control(text.substr(i, length))) out += text.substr(i, length);
    i += length == 0 ? 1 : length;
  }
  return out;
}

// `escaped` without the escapes escape_control_characters writes (\n \r \t \xHH \u00HH);
// a backslash of the input that starts no such escape is kept.
std::string without_escapes(std::string_view escaped) {
  std::string out;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\\' && i + 1 < escaped.size()) {
      const char kind = escaped[i + 1];
      if (kind == 'n' || kind == 'r' || kind == 't') {
        ++i;
        continue;
      }
      if (kind == 'x' && i + 3 < escaped.size()) {
        i += 3;
        continue;
      }
      if (kind == 'u' && i + 5 < escaped.size()) {
        i += 5;
        continue;
      }
    }
    out += escaped[i];
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t secret_length = data[0] % 16;
  if (size < 1 + secret_length) return 0;
  const std::string secret(reinterpret_cast<const char*>(data) + 1, secret_length);
  const std::string message(reinterpret_cast<const char*>(data) + 1 + secret_length, size - 1 - secret_length);

  const std::string escaped = migrate_init::escape_control_characters(message);
  check(printable_utf8(escaped));
  if (printable_utf8(message)) check(escaped == message);
  // Without backslashes in the input, taking the escapes out leaves exactly its printable part.
  if (message.find('\\') == std::string::npos) check(without_escapes(escaped) == printable_part(message));

  migrate_init::KnownSecrets secrets;
  secrets.add(secret);
  const std::string line = "2026-01-01T00:00:00.000Z migrate-init info: " +
                           migrate_init::text_log_message(message, secrets) + "\n";
  check(printable_utf8(std::string_view(line).substr(0, line.size() - 1)));
  check(line.find('\n') == line.size() - 1);
  return 0;
}
