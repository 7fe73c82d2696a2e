// Fuzzes redact: a known password embedded in connection strings, inside arbitrary text.
//
// Input layout: P F REST
//   P:    picks the password from k_passwords (awkward ones: @ / ? : % # & quotes, spaces)
//   F:    flag bits choosing how the password is embedded (scheme, port/path, query
//         string, keyword, spaces around '=', quoting)
//   REST: arbitrary bytes; the first half goes before the embedding, the second after
//
// The text is PREFIX '\n' EMBEDDING '\n' SUFFIX, EMBEDDING being lines such as
//   postgres://migrator:PASSWORD@db:5432/app?sslmode=require    (raw, when a URI can hold it)
//   postgres://migrator:PERCENT_ENCODED@db:5432/app
//   postgres://db:5432/app?user=migrator&password=PERCENT_ENCODED&sslmode=require
//   host=db port=5432 user=migrator password=PASSWORD dbname=app (when it needs no quotes)
//   host=db port=5432 user=migrator password='ESCAPED' dbname=app  (\' and \\ escaped)
//
// Invariant: none of the embedded forms of the password (raw, percent-encoded, escaped)
// appears in redact(text) nor in redact(text, {password}).
//
// Why the fuzz bytes cannot cause a false alarm: every occurrence of an embedded form is
// removed from PREFIX and SUFFIX first, no form holds '\n' or '*', and redact only ever
// deletes text together with inserting "****". So any occurrence in the output is an
// unbroken stretch of the original text without '\n': it lies inside PREFIX, the embedding
// or SUFFIX, and only the embedding has one. PREFIX also loses its single quotes: a quoted
// value opened there (password='...) would legitimately swallow the embedding's quotes.
//
// Besides: redact(REST, {password}) never shows the password, whatever REST holds.

#include "redact.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// None holds '*' (the mask) or '\n' (the separator); each is at least 4 bytes long, the
// shortest known secret redact looks for; none is a piece of the fixed text around it.
constexpr std::array<std::string_view, 16> k_passwords{
    "p@ss:w/rd?#1",
    "s3cr3t pass",
    "it's \"quoted\"",
    "100%&x=y#frag",
    "back\\slash'q",
    "a/b?c@d",
    "::@@//??",
    "  lead trail  ",
    "p\xc3\xa4ssw\xc3\xb6rd\xe2\x82\xac", // pässwörd€
    "password=hunter2",
    "%40%2F%3F",
    "tab\there",
    "x&password=y",
    "'\\''\\",
    "<angle>brackets",
    "pw\"dq@host",
};

enum Flag : unsigned {
  k_postgresql = 1u << 0,   // postgresql:// instead of postgres://
  k_upper_scheme = 1u << 1, // POSTGRES://
  k_sslpassword = 1u << 2,  // sslpassword= instead of password= in conninfo
  k_spaced = 1u << 3,       // password = value
  k_force_quotes = 1u << 4, // quote the conninfo value even when it needs no quotes
  k_query = 1u << 5,        // the URIs end in a query string
  k_port_path = 1u << 6,    // the URIs have a port and a database path
  k_password_first = 1u << 7, // password= is the query string's first parameter
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// What ends a URI for redact (and in any message quoting one): whitespace, quotes, <>.
bool fits_raw_in_uri(std::string_view password) {
  for (char c : password) {
    if (is_space(c) || c == '"' || c == '\'' || c == '<' || c == '>') return false;
  }
  return true;
}

bool fits_unquoted_in_conninfo(std::string_view password) {
  for (char c : password) {
    if (is_space(c) || c == '\'' || c == '\\') return false;
  }
  return !password.empty();
}

std::string percent_encoded(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned>(byte));
      out += buf;
    }
  }
  return out;
}

// The inside of a single-quoted conninfo value.
std::string conninfo_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out;
}

// Removes every occurrence of every form, until none is left (a removal can join two
// pieces into a new occurrence).
std::string without(std::string text, const std::vector<std::string>& forms) {
  for (bool removed = true; removed;) {
    removed = false;
    for (const auto& form : forms) {
      for (std::size_t at = text.find(form); at != std::string::npos; at = text.find(form, at)) {
        text.erase(at, form.size());
        removed = true;
      }
    }
  }
  return text;
}

std::string embedding(std::string_view password, unsigned flags) {
  std::string scheme = (flags & k_postgresql) ? "postgresql://" : "postgres://";
  if (flags & k_upper_scheme) {
    for (char& c : scheme) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  const std::string host = (flags & k_port_path) ? "db.internal:5432/app" : "db";
  const std::string query = (flags & k_query) ? "?sslmode=require&application_name=fuzz" : "";
  const std::string encoded = percent_encoded(password);

  std::string out;
  if (fits_raw_in_uri(password)) out += scheme + "migrator:" + std::string(password) + "@" + host + query + "\n";
  out += scheme + "migrator:" + encoded + "@" + host + query + "\n";
  out += scheme + "db:5432/app?" +
         ((flags & k_password_first) ? "password=" + encoded + "&user=migrator"
                                     : "user=migrator&password=" + encoded) +
         "&sslmode=require\n";

  const std::string keyword = std::string((flags & k_sslpassword) ? "sslpassword" : "password") +
                              ((flags & k_spaced) ? " = " : "=");
  const std::string quoted = "'" + conninfo_escaped(password) + "'";
  const bool unquoted = fits_unquoted_in_conninfo(password) && !(flags & k_force_quotes);
  out += "host=db port=5432 user=migrator " + keyword + (unquoted ? std::string(password) : quoted) + " dbname=app\n";
  out += "host=db user=migrator " + keyword + quoted + " sslmode=require";
  return out;
}

bool holds_any(std::string_view text, const std::vector<std::string>& forms) {
  for (const auto& form : forms) {
    if (text.find(form) != std::string_view::npos) return true;
  }
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string password(k_passwords[data[0] % k_passwords.size()]);
  const unsigned flags = data[1];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);

  // Whatever the text, a known secret never survives.
  check(migrate_init::redact(rest, {password}).find(password) == std::string::npos);
  (void)migrate_init::redact(rest);

  // Every form the password takes in the embedding.
  std::vector<std::string> forms{password, percent_encoded(password), conninfo_escaped(password)};

  std::vector<std::string> prefix_forms = forms;
  prefix_forms.emplace_back("'");
  const std::string prefix = without(std::string(rest.substr(0, rest.size() / 2)), prefix_forms);
  const std::string suffix = without(std::string(rest.substr(rest.size() / 2)), forms);
  const std::string text = prefix + "\n" + embedding(password, flags) + "\n" + suffix;

  check(!holds_any(migrate_init::redact(text), forms));
  check(!holds_any(migrate_init::redact(text, {password}), forms));

  // uri_passwords: what it finds is in the text, and a URI appended after a space is found
  // with its password exactly as written (what libpq quotes when it cannot decode it).
  for (const auto& found : migrate_init::uri_passwords(rest)) check(rest.find(found) != std::string_view::npos);
  const std::string written = percent_encoded(password);
  const auto found = migrate_init::uri_passwords(std::string(rest) + " postgresql://app:" + written + "@db/app");
  check(!found.empty() && found.back() == written);
  return 0;
}
