#include "pg/url_parameters.hpp"

#include "pg/url_reading.hpp"
#include "text.hpp"

#include <cctype>
#include <optional>
#include <vector>

namespace migrate_init::pg {
namespace {

// Where one parameter's value is in the text, and what it says.
struct Found {
  std::size_t begin = 0; // the value's text, as written (encoded or quoted)
  std::size_t end = 0;
  std::string value; // decoded
};

bool is_uri(std::string_view url) {
  const std::string plain = libpq_url(url);
  return plain.starts_with("postgresql://") || plain.starts_with("postgres://");
}

std::string percent_encoded(std::string_view text) {
  static const char* const k_hex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0xF];
    }
  }
  return out;
}

// The URI's query: after the first '?' that follows the userinfo. As libpq reads it, the
// userinfo ends at the first '@' that comes before any '/' (a password may hold a '?'; a
// query's own value may hold an '@').
std::optional<std::size_t> query_start(std::string_view url) {
  const std::size_t authority = url.find("://") + 3;
  const std::size_t stop = url.find_first_of("@/", authority);
  const std::size_t from = stop != std::string_view::npos && url[stop] == '@' ? stop + 1 : authority;
  const std::size_t question = url.find('?', from);
  if (question == std::string_view::npos) return std::nullopt;
  return question + 1;
}

// SQLAlchemy reads a query's '+' as a space (as HTML forms do); libpq reads it as '+'.
bool plus_is_space(std::string_view url) { return libpq_url(url) != url; }

std::vector<Found> find_in_uri(std::string_view url, std::string_view keyword) {
  std::vector<Found> found;
  const auto start = query_start(url);
  if (!start) return found;
  for (std::size_t at = *start; at <= url.size();) {
    const std::size_t end = std::min(url.find('&', at), url.size());
    const std::string_view piece = url.substr(at, end - at);
    const std::size_t equals = piece.find('=');
    if (equals != std::string_view::npos && percent_decoded(piece.substr(0, equals)) == keyword) {
      found.push_back({at + equals + 1, end, percent_decoded(piece.substr(equals + 1), plus_is_space(url))});
    }
    at = end + 1;
  }
  return found;
}

// conninfo: `keyword = value` pairs; a value is single-quoted (\' and \\ escaped) or runs
// to the next space (with \ escaping the next character), as libpq reads it.
std::vector<Found> find_in_conninfo(std::string_view text, std::string_view keyword) {
  std::vector<Found> found;
  std::size_t at = 0;
  const auto skip_spaces = [&] {
    while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
  };
  for (;;) {
    skip_spaces();
    if (at >= text.size()) return found;
    const std::size_t name_begin = at;
    while (at < text.size() && text[at] != '=' && !std::isspace(static_cast<unsigned char>(text[at]))) ++at;
    const std::string_view name = text.substr(name_begin, at - name_begin);
    skip_spaces();
    if (at >= text.size() || text[at] != '=') return found; // not conninfo libpq would take
    ++at;
    skip_spaces();
    Found value{at, at, ""};
    const bool quoted = at < text.size() && text[at] == '\'';
    if (quoted) ++at;
    while (at < text.size()) {
      const char c = text[at];
      if (quoted ? c == '\'' : std::isspace(static_cast<unsigned char>(c)) != 0) break;
      if (c == '\\' && at + 1 < text.size()) ++at;
      value.value += text[at++];
    }
    if (quoted && at < text.size()) ++at;
    value.end = at;
    if (name == keyword) found.push_back(value);
  }
}

std::string conninfo_quoted(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

} // namespace

bool sets_parameter(std::string_view url, std::string_view keyword) {
  return !(is_uri(url) ? find_in_uri(url, keyword) : find_in_conninfo(url, keyword)).empty();
}

std::string with_parameter(std::string_view url, std::string_view keyword, const ParameterChange& change,
                           bool add_if_missing) {
  const bool uri = is_uri(url);
  const auto found = uri ? find_in_uri(url, keyword) : find_in_conninfo(url, keyword);
  const auto written = [&](const std::string& value) { return uri ? percent_encoded(value) : conninfo_quoted(value); };
  std::string out(url);
  if (found.empty()) {
    if (!add_if_missing) return out;
    const std::string value = written(change(""));
    if (uri) return out + (query_start(url) ? (out.ends_with('?') || out.ends_with('&') ? "" : "&") : "?") +
                    std::string(keyword) + "=" + value;
    return out + (out.empty() ? "" : " ") + std::string(keyword) + "=" + value;
  }
  // From the last, so that the earlier positions stay right.
  for (auto it = found.rbegin(); it != found.rend(); ++it) out.replace(it->begin, it->end - it->begin, written(change(it->value)));
  return out;
}

} // namespace migrate_init::pg
