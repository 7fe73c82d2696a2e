#include "redact.hpp"

#include <algorithm>
#include <cctype>

namespace migrate_init {
namespace {

// Secrets shorter than this are not searched for verbatim: masking every "ab" in a
// message would make it unreadable. The pattern rules below still hide them.
constexpr std::size_t k_min_known_secret_length = 4;

bool iequals_at(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != word[i]) return false;
  }
  return true;
}

// A URI in a message runs to the next whitespace: quotes and brackets may belong to a
// password, so they do not end it.
bool ends_uri(char c) { return std::isspace(static_cast<unsigned char>(c)); }

// user:PASSWORD@host -> user:****@host. The userinfo is taken to end at the URI's last
// '@': a password may hold a raw '@', '/', '?' or quote (libpq would misread it, but a
// message can still quote it), and no rule that stops earlier can tell such a password
// from a query string. An '@' inside the query string then hides a little more than the
// password, which is the safe way to be wrong.
std::size_t userinfo_end(std::string_view uri) { return uri.rfind('@'); }

// Where the password of each postgres:// or postgresql:// URI in `text` is, as
// [begin, end) offsets; empty passwords (user:@host) included.
std::vector<std::pair<std::size_t, std::size_t>> uri_password_spans(std::string_view text) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t scheme_len = 0;
    if (iequals_at(text, pos, "postgresql://")) scheme_len = 13;
    else if (iequals_at(text, pos, "postgres://")) scheme_len = 11;
    if (scheme_len == 0) {
      ++pos;
      continue;
    }
    const std::size_t start = pos + scheme_len;
    std::size_t end = start;
    while (end < text.size() && !ends_uri(text[end])) ++end;
    const std::string_view uri = text.substr(start, end - start);
    const std::size_t at = userinfo_end(uri);
    if (at != std::string_view::npos && uri.substr(0, at).find(':') != std::string_view::npos) {
      spans.emplace_back(start + uri.find(':') + 1, start + at);
    }
    pos = end;
  }
  return spans;
}

std::string redact_uri_passwords(std::string_view text) {
  std::string out;
  std::size_t copied = 0;
  for (const auto& [begin, end] : uri_password_spans(text)) {
    out += text.substr(copied, begin - copied);
    out += k_redacted;
    copied = end;
  }
  out += text.substr(copied);
  return out;
}

// password=VALUE, password = 'quoted \' value', ?password=VALUE&..., sslpassword=...
std::string redact_password_parameters(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!iequals_at(text, pos, "password")) {
      out += text[pos++];
      continue;
    }
    // In a URI query string values end at '&'; in conninfo only at whitespace.
    const bool in_query = pos > 0 && (text[pos - 1] == '?' || text[pos - 1] == '&');
    std::size_t cursor = pos + 8;
    while (cursor < text.size() && text[cursor] == ' ') ++cursor;
    if (cursor >= text.size() || text[cursor] != '=') {
      out += text.substr(pos, 8);
      pos += 8;
      continue;
    }
    ++cursor;
    while (cursor < text.size() && text[cursor] == ' ') ++cursor;
    out += text.substr(pos, cursor - pos);
    std::size_t value_end = cursor;
    if (value_end < text.size() && text[value_end] == '\'') {
      ++value_end;
      while (value_end < text.size() && text[value_end] != '\'') {
        value_end += (text[value_end] == '\\' && value_end + 1 < text.size()) ? 2 : 1;
      }
      if (value_end < text.size()) ++value_end; // the closing quote
    } else {
      while (value_end < text.size() && !std::isspace(static_cast<unsigned char>(text[value_end])) &&
             !(in_query && (text[value_end] == '&' || text[value_end] == '"'))) {
        ++value_end;
      }
    }
    out += k_redacted;
    pos = value_end;
  }
  return out;
}

void replace_all(std::string& text, std::string_view secret) {
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + k_redacted.size())) {
    text.replace(at, secret.size(), k_redacted);
  }
}

} // namespace

std::string redact(std::string_view text, const std::vector<std::string>& known_secrets) {
  std::string out(text);
  // Longest first, so a secret that contains another is masked whole.
  std::vector<std::string> secrets = known_secrets;
  std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& secret : secrets) {
    if (secret.size() >= k_min_known_secret_length) replace_all(out, secret);
  }
  return redact_password_parameters(redact_uri_passwords(out));
}

std::vector<std::string> uri_passwords(std::string_view text) {
  std::vector<std::string> passwords;
  for (const auto& [begin, end] : uri_password_spans(text)) {
    if (end > begin) passwords.emplace_back(text.substr(begin, end - begin));
  }
  return passwords;
}

} // namespace migrate_init
