#include "pg/url_reading.hpp"

#include "redact.hpp"
#include "text.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace migrate_init::pg {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_keyword_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_keyword_byte(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::size_t skip_spaces(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos;
}

bool is_password_keyword(std::string_view keyword) {
  std::string lower(keyword);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "password" || lower == "sslpassword";
}

// The connection options libpq knows: a generous reading ends only where one of them is
// assigned (any keyword when there is no list).
using Keywords = std::vector<std::string>;

// Whether an option's `keyword =` (a conninfo or query-string assignment) starts at `pos`.
// A password keyword does not count: a password given twice ("x&password=y") is more
// likely one password holding the keyword than two.
bool assignment_at(std::string_view text, std::size_t pos, const Keywords& keywords) {
  const std::size_t begin = pos;
  if (pos >= text.size() || !is_keyword_start(text[pos])) return false;
  while (pos < text.size() && is_keyword_byte(text[pos])) ++pos;
  const std::string_view keyword = text.substr(begin, pos - begin);
  pos = skip_spaces(text, pos);
  if (pos >= text.size() || text[pos] != '=' || is_password_keyword(keyword)) return false;
  return keywords.empty() || std::find(keywords.begin(), keywords.end(), keyword) != keywords.end();
}

// A conninfo value without its backslash escapes.
std::string unescaped(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    out += text[i];
  }
  return out;
}

void add_password(UrlReading& reading, std::string value) {
  if (!value.empty() && std::find(reading.passwords.begin(), reading.passwords.end(), value) == reading.passwords.end()) {
    reading.passwords.push_back(std::move(value));
  }
}

// ---- URIs ----

// The length of the `scheme://` that starts `url` (any scheme: a mysql:// URL still holds
// a password), 0 if none does.
std::size_t scheme_length(std::string_view url) {
  if (url.empty() || !std::isalpha(static_cast<unsigned char>(url[0]))) return 0;
  std::size_t end = 1;
  while (end < url.size() && (std::isalnum(static_cast<unsigned char>(url[end])) || url[end] == '+' ||
                              url[end] == '-' || url[end] == '.')) {
    ++end;
  }
  return url.substr(end, 3) == "://" ? end + 3 : 0;
}

// libpq's userinfo: up to the first '@' or '/', if that is an '@'. Its password is what
// follows the first ':'.
std::optional<Span> libpq_userinfo_password(std::string_view after_scheme) {
  const std::size_t end = after_scheme.find_first_of("@/");
  if (end == std::string_view::npos || after_scheme[end] != '@') return std::nullopt;
  const std::size_t colon = after_scheme.substr(0, end).find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return Span{colon + 1, end};
}

void add_uri_password(UrlReading& reading, std::string_view written) {
  add_password(reading, std::string(written));
  add_password(reading, percent_decoded(written));
}

// Each ?password= and &sslpassword= value, ending at the next '&' (libpq) and at the next
// '&' that starts another option's `keyword=` (generous).
void read_query_passwords(std::string_view after_scheme, const Keywords& keywords, UrlReading& reading) {
  for (std::size_t pos = 1; pos < after_scheme.size(); ++pos) {
    if (after_scheme[pos - 1] != '?' && after_scheme[pos - 1] != '&') continue;
    const std::size_t equals = after_scheme.find('=', pos);
    if (equals == std::string_view::npos || !is_password_keyword(after_scheme.substr(pos, equals - pos))) continue;
    const std::size_t begin = equals + 1;
    std::size_t generous_end = after_scheme.find('&', begin);
    while (generous_end != std::string_view::npos && !assignment_at(after_scheme, generous_end + 1, keywords)) {
      generous_end = after_scheme.find('&', generous_end + 1);
    }
    add_uri_password(reading, after_scheme.substr(begin, after_scheme.find('&', begin) - begin));
    add_uri_password(reading, after_scheme.substr(begin, generous_end - begin));
  }
}

void read_uri(std::string_view url, std::size_t scheme, const Keywords& keywords, UrlReading& reading) {
  const std::string_view rest = url.substr(scheme);
  const auto generous = uri_userinfo_password(rest);
  const auto libpq = libpq_userinfo_password(rest);
  for (const auto& span : {generous, libpq}) {
    if (span) add_uri_password(reading, rest.substr(span->first, span->second - span->first));
  }
  read_query_passwords(rest, keywords, reading);
  const std::string_view written_scheme = url.substr(0, scheme);
  if (written_scheme != "postgresql://" && written_scheme != "postgres://") {
    reading.foreign_scheme = written_scheme;
  } else if (generous && generous != libpq) {
    // libpq would take the rest of the password for the host, port or database, and quote
    // it in every connection error: refuse, and say how to write it.
    reading.problem = "the URL's user name or password holds a raw '@' or '/', so libpq would read part of it as "
                      "the host; percent-encode them in the password (%40 for '@', %2F for '/'), and any '@' "
                      "elsewhere in the URL";
  }
}

// ---- conninfo ----

// A conninfo value: its text as written, without the quotes, and where the rest of the
// string goes on.
struct ConninfoValue {
  std::string_view written;
  std::size_t next = 0;
};

// The conninfo value that starts at `pos`: up to the first space that no backslash escapes
// (or the closing quote), as libpq reads it; or, generously, only where another `keyword=`
// or the end of the string follows (given the known keywords). An unterminated quote runs
// to the end.
ConninfoValue conninfo_value(std::string_view text, std::size_t pos, const Keywords* generous) {
  const bool quoted = pos < text.size() && text[pos] == '\'';
  const std::size_t begin = quoted ? pos + 1 : pos;
  for (pos = begin; pos < text.size(); ++pos) {
    if (text[pos] == '\\') {
      ++pos;
      continue;
    }
    if (quoted ? text[pos] != '\'' : !is_space(text[pos])) continue;
    const std::size_t after = pos + (quoted ? 1 : 0);
    const std::size_t next = skip_spaces(text, after);
    if (!generous || next == text.size() || assignment_at(text, next, *generous)) {
      return {text.substr(begin, pos - begin), after};
    }
  }
  return {text.substr(begin), text.size()};
}

void add_conninfo_password(UrlReading& reading, std::string_view written) {
  add_password(reading, std::string(written));
  add_password(reading, unescaped(written));
}

// Every `password =` anywhere in `text`, even inside another option's value: a quote left
// open before it makes libpq read the password as bare words, which it then quotes.
void read_loose_passwords(std::string_view text, const Keywords& keywords, UrlReading& reading) {
  for (std::size_t pos = 0; pos + 8 <= text.size(); ++pos) {
    if (!is_password_keyword(text.substr(pos, 8))) continue;
    std::size_t value = skip_spaces(text, pos + 8);
    if (value >= text.size() || text[value] != '=') continue;
    value = skip_spaces(text, value + 1);
    add_conninfo_password(reading, conninfo_value(text, value, nullptr).written);
    add_conninfo_password(reading, conninfo_value(text, value, &keywords).written);
  }
}

void read_conninfo(std::string_view text, const Keywords& keywords, UrlReading& reading) {
  read_loose_passwords(text, keywords, reading);
  std::size_t pos = 0;
  while ((pos = skip_spaces(text, pos)) < text.size()) {
    const std::size_t name_begin = pos;
    while (pos < text.size() && text[pos] != '=' && !is_space(text[pos])) ++pos;
    const std::string_view keyword = text.substr(name_begin, pos - name_begin);
    std::size_t value = skip_spaces(text, pos);
    if (value >= text.size() || text[value] != '=') continue; // a stray word: libpq refuses it
    value = skip_spaces(text, value + 1);
    const ConninfoValue strict = conninfo_value(text, value, nullptr);
    if (is_password_keyword(keyword)) {
      add_conninfo_password(reading, strict.written);
      add_conninfo_password(reading, conninfo_value(text, value, &keywords).written);
    }
    pos = strict.next;
  }
}

// ---- libpq's parse errors ----

// libpq 15's parse errors that quote a piece of the connection string, as the text before
// and after the piece.
struct Quoting {
  std::string_view before, after;
};
constexpr std::array<Quoting, 10> k_quotings{{
    {"missing \"=\" after \"", "\" in connection info string"},
    {"invalid connection option \"", "\""},
    {"invalid URI query parameter: \"", "\""},
    {"invalid percent-encoded token: \"", "\""},
    {"forbidden value %00 in percent-encoded value: \"", "\""},
    {"extra key/value separator \"=\" in URI query parameter: \"", "\""},
    {"missing key/value separator \"=\" in URI query parameter: \"", "\""},
    {"IPv6 host address may not be empty in URI: \"", "\""},
    {"end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"", "\""},
    {"invalid URI propagated to internal parser routine: \"", "\""},
}};

// A quoted piece as it may be shown: a plain keyword that no password holds, or the mask.
std::string shown_piece(std::string_view piece, const std::vector<std::string>& passwords) {
  const bool keyword = !piece.empty() && piece.size() <= 63 && is_keyword_start(piece[0]) &&
                       std::all_of(piece.begin(), piece.end(), is_keyword_byte);
  const bool in_password = std::any_of(passwords.begin(), passwords.end(), [&](const std::string& password) {
    return password.find(piece) != std::string::npos;
  });
  return keyword && !in_password ? std::string(piece) : std::string(k_redacted);
}

// `unexpected character "%c" at position %d in URI (expected ":" or "/"): "%s"`, without
// the character and the URI (the position is enough to find them).
std::optional<std::string> without_unexpected_character(std::string_view message) {
  constexpr std::string_view k_start = "unexpected character \"", k_position = "\" at position ",
                             k_end = " in URI (expected \":\" or \"/\"): \"";
  if (!message.starts_with(k_start) || message.substr(k_start.size() + 1, k_position.size()) != k_position) {
    return std::nullopt;
  }
  const std::size_t digits = k_start.size() + 1 + k_position.size();
  std::size_t digits_end = digits;
  while (digits_end < message.size() && std::isdigit(static_cast<unsigned char>(message[digits_end]))) ++digits_end;
  if (digits_end == digits || message.substr(digits_end, k_end.size()) != k_end) return std::nullopt;
  return "unexpected character at position " + std::string(message.substr(digits, digits_end - digits)) +
         " in URI (expected \":\" or \"/\")";
}

// ---- rendering ----

void add_plain(Rendering& shown, std::string_view part) {
  shown.plain.emplace_back(shown.text.size(), shown.text.size() + part.size());
  shown.text += part;
}

Rendering shown_uri(std::string_view url, std::size_t scheme) {
  const std::string_view rest = url.substr(scheme);
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos && rest.find_first_of("/?") < at) return {redact(url), {}, {}};
  Rendering shown{std::string(url.substr(0, scheme)), {}, {}};
  std::size_t host = 0;
  if (at != std::string_view::npos) {
    const std::size_t colon = rest.substr(0, at).find(':');
    add_plain(shown, rest.substr(0, std::min(colon, at)));
    if (colon != std::string_view::npos) shown.text += ":" + std::string(k_redacted);
    shown.text += '@';
    host = at + 1;
  }
  const std::size_t query = rest.find('?', host);
  add_plain(shown, rest.substr(host, query - host));
  if (query != std::string_view::npos) shown.text += redact(rest.substr(query));
  return shown;
}

bool is_plain_keyword(std::string_view keyword) {
  return keyword == "user" || keyword == "host" || keyword == "hostaddr" || keyword == "port" || keyword == "dbname";
}

// Read as libpq reads it (conninfo_parse): `keyword = value` pairs between any whitespace,
// a value being 'quoted' or bare up to the next whitespace, a backslash escaping the next
// byte in both. The text is kept as written, each password value (quotes included)
// replaced by the mask; the user, host, hostaddr, port and dbname values are plain, with
// their reading. Anything libpq would refuse (a stray word, an unterminated quote) is
// shown redacted, nothing plain.
Rendering shown_conninfo(std::string_view text) {
  Rendering fallback{redact(text), {}, {}};
  Rendering shown;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (is_space(text[pos])) {
      shown.text += text[pos++];
      continue;
    }
    const std::size_t name_begin = pos;
    while (pos < text.size() && text[pos] != '=' && !is_space(text[pos])) ++pos;
    const std::string_view keyword = text.substr(name_begin, pos - name_begin);
    pos = skip_spaces(text, pos);
    if (pos >= text.size() || text[pos] != '=' || keyword.empty()) return fallback;
    pos = skip_spaces(text, pos + 1);
    shown.text += text.substr(name_begin, pos - name_begin);
    const std::size_t value_begin = pos;
    std::string value;
    if (pos < text.size() && text[pos] == '\'') {
      for (++pos;; ++pos) {
        if (pos >= text.size()) return fallback;
        if (text[pos] == '\\') {
          if (++pos >= text.size()) return fallback;
        } else if (text[pos] == '\'') {
          ++pos;
          break;
        }
        value += text[pos];
      }
    } else {
      for (; pos < text.size() && !is_space(text[pos]); ++pos) {
        if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
        value += text[pos];
      }
    }
    const std::string_view written = text.substr(value_begin, pos - value_begin);
    if (is_password_keyword(keyword)) {
      shown.text += k_redacted;
    } else if (is_plain_keyword(keyword)) {
      add_plain(shown, written);
      shown.read.push_back(std::move(value));
    } else {
      shown.text += written;
    }
  }
  return shown;
}

} // namespace

Rendering shown_url(std::string_view url) {
  if (url.empty()) return {};
  if (const std::size_t scheme = scheme_length(url)) return shown_uri(url, scheme);
  return shown_conninfo(url);
}

UrlReading read_url(std::string_view url, const std::vector<std::string>& keywords) {
  UrlReading reading;
  if (const std::size_t scheme = scheme_length(url)) read_uri(url, scheme, keywords, reading);
  // libpq reads anything but its own two schemes as conninfo, and may quote it as such.
  if (scheme_length(url) == 0 || !reading.foreign_scheme.empty()) read_conninfo(url, keywords, reading);
  return reading;
}

std::vector<std::string> libpq_keywords() {
  std::vector<std::string> keywords;
  char* error = nullptr;
  // Parsing an empty string lists every option, without reading the environment.
  PQconninfoOption* options = PQconninfoParse("", &error);
  PQfreemem(error);
  for (PQconninfoOption* option = options; option && option->keyword; ++option) keywords.emplace_back(option->keyword);
  PQconninfoFree(options);
  return keywords;
}

std::string parse_error_without_url(std::string_view message, const std::vector<std::string>& passwords) {
  for (const auto& [before, after] : k_quotings) {
    if (message.size() >= before.size() + after.size() && message.starts_with(before) && message.ends_with(after)) {
      const std::string_view piece = message.substr(before.size(), message.size() - before.size() - after.size());
      return std::string(before) + shown_piece(piece, passwords) + std::string(after);
    }
  }
  if (auto shown = without_unexpected_character(message)) return *shown;
  if (message == "unterminated quoted string in connection info string" || message == "out of memory") {
    return std::string(message);
  }
  return "libpq cannot parse it (its message is not shown: it quotes the setting, which may hold a password)";
}

std::string libpq_url(std::string_view url) {
  for (const std::string_view scheme : {std::string_view("postgresql+"), std::string_view("postgres+")}) {
    if (url.substr(0, scheme.size()) != scheme) continue;
    const std::size_t driver_end = url.find("://", scheme.size());
    if (driver_end == std::string_view::npos || driver_end == scheme.size()) return std::string(url);
    const std::string_view driver = url.substr(scheme.size(), driver_end - scheme.size());
    const bool plain = std::all_of(driver.begin(), driver.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!plain) return std::string(url);
    return std::string(scheme.substr(0, scheme.size() - 1)) + std::string(url.substr(driver_end));
  }
  return std::string(url);
}

} // namespace migrate_init::pg
