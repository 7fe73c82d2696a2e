// Fuzzes what the log shows of a password (issue 14, item 4): no piece of it of four bytes
// survives, whatever the text around it and whatever syntax a connection setting wraps it in.
//
// Input layout: F N PASSWORD[N] REST
//   F:        the form of the setting (below) in the low 4 bits
//   N:        the password's length, 4 + N % 32 bytes (NUL, '*' and 0x01 are replaced: the
//             first ends a C string, the others are the mask and the check's separator)
//   PASSWORD: the password
//   REST:     arbitrary bytes, split in two halves A and B
//
// 1. Free text: redact(A + piece + B, {password}), the piece being the password or a part of
//    it at least four bytes long (chosen by N), shows no piece of the password.
// 2. The real path: forget_log_secrets(), validate_database_url(SETTING), which registers
//    the passwords it reads and may refuse the setting, then the log's own redaction
//    (redact_with_log_secrets) of its refusal, of "connecting to " and migrate-init's rendering
//    of SETTING when accepted (whose plain parts may show pieces, never a whole password nor
//    more than half of one: see check_start_line), and
//    of connection errors quoting the host, port, database and user as libpq reads them:
//    none shows a piece of the password. SETTING is A and B around the password, in one of
//    these forms (the password raw, percent-encoded or escaped as the form needs):
//      postgres[ql]://A:PASSWORD@B            raw / percent-encoded
//      postgresql://A?password=PASSWORD&B     raw / percent-encoded
//      postgresql+psycopg2://A:PASSWORD@B     raw
//      sslmode=prefer A password=PASSWORD B   raw, 'quoted', backslash-escaped, 'raw quoted'
//
// "Shows a piece" is as redact.hpp has it: a run of at most five ASCII letters and digits
// inside a longer word is a coincidence ("nter" in "interrupted"). A raw password that holds an option assignment after its separator
// ("ab sslmode=disable" unquoted, "ab&port=1" in a query string) is skipped: libpq reads
// it as two options, and so does migrate-init, on purpose (README, Logs). So is a raw
// unquoted conninfo password that libpq cannot read as written (see setting()).

#include "error.hpp"
#include "log.hpp"
#include "pg/connect.hpp"
#include "pg/url_reading.hpp"
#include "redact.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::uint32_t piece_at(std::string_view text, std::size_t pos) {
  std::uint32_t piece = 0;
  std::memcpy(&piece, text.data() + pos, sizeof piece);
  return piece;
}

bool is_word_byte(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Whether `text` shows a piece of `password` (see the header comment).
bool shows_piece(std::string text, const std::string& password) {
  std::unordered_set<std::uint32_t> pieces;
  for (std::size_t i = 0; i + 4 <= password.size(); ++i) pieces.insert(piece_at(password, i));
  for (std::size_t at = text.find(migrate_init::k_redacted); at != std::string::npos;
       at = text.find(migrate_init::k_redacted, at + 1)) {
    text.replace(at, migrate_init::k_redacted.size(), "\x01");
  }
  const auto starts_piece = [&](std::size_t i) { return i + 4 <= text.size() && pieces.contains(piece_at(text, i)); };
  for (std::size_t begin = 0; begin < text.size(); ++begin) {
    if (!starts_piece(begin)) continue;
    std::size_t end = begin + 4;
    while (starts_piece(end - 3)) ++end;
    const std::string_view run = std::string_view(text).substr(begin, end - begin);
    const bool coincidence = run.size() <= 5 && std::all_of(run.begin(), run.end(), is_word_byte) &&
                             ((begin > 0 && is_word_byte(text[begin - 1])) || (end < text.size() && is_word_byte(text[end])));
    if (!coincidence) return true;
    begin = end - 1;
  }
  return false;
}

std::string percent_encoded(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buffer;
    }
  }
  return out;
}

std::string backslashed(std::string_view text, bool spaces_too) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '\'' || (spaces_too && std::isspace(static_cast<unsigned char>(c)))) out += '\\';
    out += c;
  }
  return out;
}

// Whether `password`, written raw and followed by `after`, holds a separator followed by
// an option assignment (other than a password's), which may end in `after`: libpq and
// migrate-init both read that as another option.
bool holds_option_assignment(std::string_view raw_password, std::string_view after, std::string_view separators) {
  static const std::vector<std::string> keywords = migrate_init::pg::libpq_keywords();
  const std::string text = std::string(raw_password) + std::string(after);
  const auto skip_spaces = [&](std::size_t pos) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    return pos;
  };
  for (std::size_t i = 0; i < raw_password.size(); ++i) {
    if (separators.find(text[i]) == std::string_view::npos) continue;
    const std::size_t at = skip_spaces(i + 1);
    for (const auto& keyword : keywords) {
      if (keyword == "password" || keyword == "sslpassword" || text.compare(at, keyword.size(), keyword) != 0) continue;
      const std::size_t equals = skip_spaces(at + keyword.size());
      if (equals < text.size() && text[equals] == '=') return true;
    }
  }
  return false;
}

// The setting of form `form` holding `password` between `a` and `b`; "" to skip.
std::string setting(unsigned form, const std::string& password, const std::string& a, const std::string& b) {
  const std::string encoded = percent_encoded(password);
  const std::string conninfo = "sslmode=prefer "; // so that A cannot make it a URI
  switch (form % 10) {
  case 0: return "postgresql://" + a + ":" + password + "@" + b;
  case 1: return "postgres://" + a + ":" + encoded + "@" + b;
  case 2:
    if (holds_option_assignment(password, "&" + b, "&")) return "";
    return "postgresql://" + a + "?password=" + password + "&" + b;
  case 3: return "postgres://" + a + "?password=" + encoded + "&" + b;
  case 4: return "postgresql+psycopg2://" + a + ":" + password + "@" + b;
  case 5: {
    // Raw and unquoted, a value holds no backslash (an escape), does not start with a quote
    // and neither starts nor ends with a space (libpq skips those): else it is not this one.
    const bool fits = !holds_option_assignment(password, " " + b, " \t\n\r\f\v") &&
                      password.find('\\') == std::string::npos && password.front() != '\'' &&
                      !std::isspace(static_cast<unsigned char>(password.front())) &&
                      !std::isspace(static_cast<unsigned char>(password.back()));
    return fits ? conninfo + a + " password=" + password + " " + b : "";
  }
  case 6: return conninfo + a + " password='" + backslashed(password, false) + "' " + b;
  case 7: return conninfo + a + " password=" + backslashed(password, true) + " " + b;
  case 8:
    if (holds_option_assignment(password, "' " + b, "'")) return "";
    return conninfo + a + " password='" + password + "' " + b;
  default: return "postgresql://" + a + ":" + encoded + "@" + b;
  }
}

// Connection errors that quote what libpq read, as the log would show them.
std::vector<std::string> libpq_style_errors(const std::string& text) {
  std::vector<std::string> errors;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(text.c_str(), &error);
  PQfreemem(error);
  for (PQconninfoOption* option = options; option && option->keyword; ++option) {
    if (!option->val) continue;
    const std::string keyword = option->keyword;
    if (keyword == "host" || keyword == "port" || keyword == "dbname" || keyword == "user" || keyword == "hostaddr") {
      errors.push_back("waiting for the database: " + keyword + " \"" + option->val + "\" failed");
    }
  }
  PQconninfoFree(options);
  return errors;
}

// %XX decoded (the fuzz target's own).
std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Whether `text` holds `secret` whole, other than as a coincidence (at most five ASCII
// letters and digits inside a longer word, as shows_piece has it).
bool shows_whole(const std::string& text, const std::string& secret) {
  if (secret.empty()) return false;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 1)) {
    const std::size_t end = at + secret.size();
    const bool coincidence = secret.size() <= 5 && std::all_of(secret.begin(), secret.end(), is_word_byte) &&
                             ((at > 0 && is_word_byte(text[at - 1])) || (end < text.size() && is_word_byte(text[end])));
    if (!coincidence) return true;
  }
  return false;
}

// The passwords libpq reads from the setting (password=, sslpassword=, decoded).
std::vector<std::string> libpq_passwords(const std::string& text) {
  std::vector<std::string> passwords;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(migrate_init::pg::libpq_url(text).c_str(), &error);
  PQfreemem(error);
  for (PQconninfoOption* option = options; option && option->keyword; ++option) {
    const std::string keyword = option->keyword;
    if (option->val && *option->val && (keyword == "password" || keyword == "sslpassword")) passwords.emplace_back(option->val);
  }
  PQconninfoFree(options);
  return passwords;
}

// The start line shows the plain parts of migrate-init's rendering of the setting (user,
// hosts, database: not secret, README "Logs") even where they hold pieces of a password,
// but never a password whole (in any form it was given in) nor more than half of its bytes;
// and no piece of it elsewhere. "A password" is what libpq reads; the fuzzer's PASSWORD is
// one when libpq reads it so (A may hold a ':' that makes PASSWORD the end of a longer one).
void check_start_line(const std::string& text, const std::string& password, const std::string& given) {
  const migrate_init::Rendering shown = migrate_init::pg::shown_url(text);
  migrate_init::add_log_rendering(shown);
  const std::string line = migrate_init::redact_with_log_secrets("connecting to " + shown.text);
  std::vector<std::string> passwords = libpq_passwords(text);
  // One holding the mask's '*' (A or B may give one) cannot be told from the mask.
  std::erase_if(passwords, [](const std::string& secret) { return secret.find('*') != std::string::npos; });
  // The form the setting gives it in, too (not one that A or B happen to hold).
  if (given != password && std::find(passwords.begin(), passwords.end(), password) != passwords.end()) {
    passwords.push_back(given);
  }
  // Whole, anywhere in the line; shorter than four bytes, in the plain parts (below) only:
  // free text is not searched for such short ones (redact.hpp).
  for (const auto& secret : passwords) check(secret.size() < 4 || !shows_whole(line, secret));
  // The plain parts, in order, as the line shows them: each right after the text before it
  // in the rendering when that is shown as it is (else the next place it is found; one
  // masked is not found there, and is looked for no further than the next). A part may show
  // with the pattern rules applied (a host "x?password=y" shows "x?password=****").
  std::string outside = line;
  std::vector<std::string> shown_parts;
  std::size_t cursor = 14, previous_end = 0;
  for (const auto& [begin, end] : shown.plain) {
    const std::string before = shown.text.substr(previous_end, begin - previous_end);
    previous_end = end;
    if (outside.compare(cursor, before.size(), before) == 0) cursor += before.size();
    if (end == begin) continue;
    std::string part = shown.text.substr(begin, end - begin);
    const std::vector<std::string> forms{part, migrate_init::redact(part)};
    std::size_t at = std::string::npos;
    for (const auto& form : forms) {
      if (outside.compare(cursor, form.size(), form) == 0) {
        part = form;
        at = cursor;
        break;
      }
    }
    for (auto form = forms.begin(); at == std::string::npos && form != forms.end(); ++form) {
      at = outside.find(*form, cursor);
      part = *form;
    }
    if (at == std::string::npos) continue;
    outside.replace(at, part.size(), part.size(), '\x01');
    // The separator on either side is shown with it (README, Logs).
    const auto separator = [&](std::size_t i) {
      const auto byte = static_cast<unsigned char>(outside[i]);
      return byte < 0x80 && !std::isalnum(byte) && byte != '*' && byte != '\x01';
    };
    if (at > 0 && separator(at - 1)) outside[at - 1] = '\x01';
    if (at + part.size() < outside.size() && separator(at + part.size())) outside[at + part.size()] = '\x01';
    cursor = at + part.size();
    shown_parts.push_back(part);
    shown_parts.push_back(percent_decoded(part));
  }
  // Unless the pattern rules of redact() rewrite the rendering across its parts (a user
  // name holding "password=" masks up to the next space, the host's start included): its
  // parts can no longer be told apart, and only the whole-password checks hold.
  // The scheme is the URL's syntax, the same whatever the password: "postgres://" shows no
  // piece of a password holding "esrpostg" or "s://", even where the log's secrets masked a
  // coincidence in it ("postgre****/"). What the line shows of it, from its start, is not
  // looked at (setting() writes only these three).
  for (const std::string scheme : {"postgresql+psycopg2://", "postgresql://", "postgres://"}) {
    if (shown.text.rfind(scheme, 0) != 0) continue;
    std::size_t same = 0;
    while (same < scheme.size() && 14 + same < outside.size() && outside[14 + same] == scheme[same]) ++same;
    outside.replace(14, same, same, '\x01');
    break;
  }
  if (migrate_init::redact(shown.text) == shown.text) check(!shows_piece(outside, password));
  // What the shown plain parts show of each password, by pieces of four bytes: half at most.
  for (const auto& secret : passwords) {
    std::vector<bool> seen(secret.size(), false);
    for (const auto& part : shown_parts) {
      check(part.find(secret) == std::string::npos);
      for (std::size_t i = 0; i + 4 <= secret.size(); ++i) {
        if (part.find(secret.substr(i, 4)) != std::string::npos) std::fill_n(seen.begin() + i, 4, true);
      }
    }
    check(2 * static_cast<std::size_t>(std::count(seen.begin(), seen.end(), false)) >= secret.size());
  }
}

void check_setting(const std::string& text, const std::string& password, const std::string& given) {
  if (text.empty() || text.find('\0') != std::string::npos) return;
  const std::vector<std::string> errors = libpq_style_errors(text);
  migrate_init::forget_log_secrets();
  try {
    migrate_init::pg::validate_database_url(text, "DATABASE_URL");
    check_start_line(text, password, given);
  } catch (const migrate_init::UsageError& e) {
    check(!shows_piece(migrate_init::redact_with_log_secrets(e.what()), password));
  }
  for (const auto& error : errors) check(!shows_piece(migrate_init::redact_with_log_secrets(error), password));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned form = data[0] & 0x0F;
  const std::size_t length = 4 + data[1] % 32;
  if (size < 2 + length) return 0;
  std::string password(reinterpret_cast<const char*>(data) + 2, length);
  for (char& c : password) {
    if (c == '\0' || c == '*' || c == '\x01') c = '+';
  }
  const std::string rest(reinterpret_cast<const char*>(data) + 2 + length, size - 2 - length);
  const std::string a = rest.substr(0, rest.size() / 2), b = rest.substr(rest.size() / 2);

  // 1. Free text with the password, or a piece of it, in the middle.
  const std::size_t piece_length = 4 + data[1] / 32 % (length - 3);
  const std::string piece = password.substr(0, std::min(piece_length, length));
  check(!shows_piece(migrate_init::redact(a + piece + b, {password}), password));

  // 2. A connection setting, through validate_database_url and the log's secrets.
  const unsigned written = form % 10;
  const std::string given = written == 1 || written == 3 || written == 9 ? percent_encoded(password)
                            : written == 6                               ? backslashed(password, false)
                            : written == 7                               ? backslashed(password, true)
                                                                         : password;
  check_setting(setting(form, password, a, b), password, given);
  return 0;
}
