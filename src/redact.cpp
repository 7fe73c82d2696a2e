#include "redact.hpp"

#include "text.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace migrate_init {
namespace {

// A run of pieces this short, inside a longer word, is taken for a coincidence: see
// is_coincidence().
constexpr std::size_t k_max_coincidence_length = 5;

std::uint32_t piece_at(std::string_view text, std::size_t pos) {
  std::uint32_t piece = 0;
  std::memcpy(&piece, text.data() + pos, sizeof piece);
  return piece;
}
static_assert(sizeof(std::uint32_t) == k_secret_piece_length);

bool is_word_byte(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Whether the run [begin, end) of `text` is a coincidence: a few letters and digits that
// a password shares with a longer word of the message ("nter" in "interrupted", "unter" in
// "unterminated" for a password holding "hunter"; "word" in "password" for the password
// "word"). What libpq and the server echo of a password they misread is cut at syntax
// (quotes, '@', '/', ':', spaces), never inside a word, so such a run is no leak; masking
// it would make messages unreadable.
bool is_coincidence(std::string_view text, Span run) {
  const auto [begin, end] = run;
  if (end - begin > k_max_coincidence_length) return false;
  for (std::size_t i = begin; i < end; ++i) {
    if (!is_word_byte(text[i])) return false;
  }
  return (begin > 0 && is_word_byte(text[begin - 1])) || (end < text.size() && is_word_byte(text[end]));
}

// Widens each span to whole UTF-8 characters (a mask never leaves half a character) and
// merges the spans that then touch. Only bytes above ASCII are taken in: a stray
// continuation byte after an ASCII one belongs to no character, at either end (else a mask
// ending in the '/' before a user name would eat the name's stray continuation bytes).
std::vector<Span> whole_characters(std::string_view text, const std::vector<Span>& spans) {
  std::vector<Span> out;
  for (auto [begin, end] : spans) {
    while (begin > 0 && is_continuation(text[begin]) && static_cast<unsigned char>(text[begin - 1]) >= 0x80) --begin;
    while (end > begin && end < text.size() && is_continuation(text[end]) &&
           static_cast<unsigned char>(text[end - 1]) >= 0x80) {
      ++end;
    }
    if (!out.empty() && begin <= out.back().second) {
      out.back().second = std::max(out.back().second, end);
    } else {
      out.emplace_back(begin, end);
    }
  }
  return out;
}

// `runs` without the parts that fall in `plain` (both sorted, not overlapping).
std::vector<Span> without(const std::vector<Span>& runs, std::vector<Span> plain) {
  std::sort(plain.begin(), plain.end());
  std::vector<Span> out;
  for (auto [begin, end] : runs) {
    for (const auto& [plain_begin, plain_end] : plain) {
      if (plain_end <= begin || plain_begin >= end) continue;
      if (plain_begin > begin) out.emplace_back(begin, plain_begin);
      begin = std::max(begin, plain_end);
    }
    if (begin < end) out.emplace_back(begin, end);
  }
  return out;
}

std::string masked(std::string_view text, const std::vector<Span>& spans) {
  std::string out;
  std::size_t copied = 0;
  for (const auto& [begin, end] : spans) {
    out += text.substr(copied, begin - copied);
    out += k_redacted;
    copied = end;
  }
  out += text.substr(copied);
  return out;
}

bool iequals_at(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != word[i]) return false;
  }
  return true;
}

// The length of the scheme at `pos` ("postgres://", "postgresql://", or SQLAlchemy's
// "postgresql+psycopg2://"), in any case; 0 if none starts there.
std::size_t scheme_length(std::string_view text, std::size_t pos) {
  std::size_t end = pos;
  if (iequals_at(text, pos, "postgresql")) end += 10;
  else if (iequals_at(text, pos, "postgres")) end += 8;
  else return 0;
  if (end < text.size() && text[end] == '+') {
    ++end;
    while (end < text.size() && (is_word_byte(text[end]) || text[end] == '_')) ++end;
  }
  return iequals_at(text, end, "://") ? end + 3 - pos : 0;
}

// A URI in a message runs to the next whitespace: quotes and brackets may belong to a
// password, so they do not end it.
bool ends_uri(char c) { return std::isspace(static_cast<unsigned char>(c)); }

// Where the password of each URI in `text` is; empty passwords (user:@host) included.
std::vector<Span> uri_password_spans(std::string_view text) {
  std::vector<Span> spans;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t scheme = scheme_length(text, pos);
    if (scheme == 0) {
      ++pos;
      continue;
    }
    const std::size_t start = pos + scheme;
    std::size_t end = start;
    while (end < text.size() && !ends_uri(text[end])) ++end;
    if (const auto password = uri_userinfo_password(text.substr(start, end - start))) {
      spans.emplace_back(start + password->first, start + password->second);
    }
    pos = end;
  }
  return spans;
}

// Where an unquoted value starting at `pos` ends. In a URI query string values end at '&'
// (or a quote around the URI); in conninfo only at whitespace that no backslash escapes.
std::size_t unquoted_value_end(std::string_view text, std::size_t pos, bool in_query) {
  while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos]))) {
    if (in_query && (text[pos] == '&' || text[pos] == '"')) break;
    pos += (!in_query && text[pos] == '\\' && pos + 1 < text.size()) ? 2 : 1;
  }
  return pos;
}

// Where a single-quoted conninfo value starting at `pos` (its opening quote) ends: after
// the closing quote, or at the end of the text when there is none.
std::size_t quoted_value_end(std::string_view text, std::size_t pos) {
  ++pos;
  while (pos < text.size() && text[pos] != '\'') pos += (text[pos] == '\\' && pos + 1 < text.size()) ? 2 : 1;
  return pos < text.size() ? pos + 1 : pos;
}

// password=VALUE, password = 'quoted \' value', password=escaped\ space, ?password=VALUE&...,
// sslpassword=...
std::string redact_password_parameters(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!iequals_at(text, pos, "password")) {
      out += text[pos++];
      continue;
    }
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
    out += k_redacted;
    const bool quoted = cursor < text.size() && text[cursor] == '\'';
    pos = quoted ? quoted_value_end(text, cursor) : unquoted_value_end(text, cursor, in_query);
  }
  return out;
}

// The word of `text` that holds position `pos`: the run of letters, digits, '-' and '_'.
Span word_around(std::string_view text, std::size_t pos, std::size_t length) {
  const auto in_word = [](char c) { return is_word_byte(c) || c == '-' || c == '_'; };
  std::size_t begin = pos, end = pos + length;
  while (begin > 0 && in_word(text[begin - 1])) --begin;
  while (end < text.size() && in_word(text[end])) ++end;
  return {begin, end};
}

} // namespace

bool is_password_option(std::string_view word) {
  if (word.size() < 9 || word.front() != '-' || !iequals_at(word, word.size() - 8, "password")) return false;
  const std::size_t dashes = word.find_first_not_of('-');
  if (dashes > 2) return false;
  std::string lowered;
  for (char c : word.substr(dashes)) lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // psql's --no-password takes no value; neither does a flag that asks for a prompt, but
  // that is told by what follows (below).
  return lowered != "no-password";
}

std::vector<Span> password_option_values(std::string_view text) {
  std::vector<Span> spans;
  for (std::size_t pos = 0; pos + 8 <= text.size(); ++pos) {
    if (!iequals_at(text, pos, "password")) continue;
    const auto [begin, end] = word_around(text, pos, 8);
    if (end != pos + 8 || !is_password_option(text.substr(begin, end - begin))) continue;
    // The option as its own word: `--password VALUE` in a shell line, `"--password",
    // "VALUE"` in a JSON array. A value of its own after `=` is redact_password_parameters'.
    std::size_t cursor = end;
    const bool json = begin > 0 && text[begin - 1] == '"' && cursor < text.size() && text[cursor] == '"';
    if (json) {
      ++cursor;
      while (cursor < text.size() && (text[cursor] == ' ' || text[cursor] == ',')) ++cursor;
      if (cursor >= text.size() || text[cursor] != '"') continue;
    } else {
      if (cursor >= text.size() || (text[cursor] != ' ' && text[cursor] != '\t')) continue;
      while (cursor < text.size() && (text[cursor] == ' ' || text[cursor] == '\t')) ++cursor;
    }
    if (cursor >= text.size()) continue;
    const char quote = text[cursor];
    std::size_t value = cursor, value_end;
    if (quote == '"' || quote == '\'') {
      ++value;
      value_end = value;
      while (value_end < text.size() && text[value_end] != quote) {
        value_end += (quote == '"' && text[value_end] == '\\' && value_end + 1 < text.size()) ? 2 : 1;
      }
    } else {
      value_end = value;
      while (value_end < text.size() && !std::isspace(static_cast<unsigned char>(text[value_end]))) ++value_end;
    }
    // `psql --password --host db`: a flag that prompts, followed by the next option, not a
    // value. A value may start with one '-' (generated passwords do): `-h` after psql's
    // --password is masked too, the safe way to be wrong.
    if (value_end == value || text.substr(value, 2) == "--") continue;
    spans.emplace_back(value, value_end);
    pos = value_end;
  }
  return spans;
}

void KnownSecrets::add(std::string_view secret) {
  if (secret.empty() || std::find(m_whole.begin(), m_whole.end(), secret) != m_whole.end()) return;
  m_whole.emplace_back(secret);
  if (secret.size() < k_secret_piece_length) return;
  for (std::size_t i = 0; i + k_secret_piece_length <= secret.size(); ++i) m_pieces.insert(piece_at(secret, i));
}

void KnownSecrets::add_rendering(Rendering rendering) { m_renderings.push_back(std::move(rendering)); }

void KnownSecrets::clear() {
  m_pieces.clear();
  m_whole.clear();
  m_renderings.clear();
}

bool is_separator(char c);

// Marks in `shown` every place `secret` holds a word of `form` (its runs between
// separators) of two bytes or more: a user "app" and a database "prod" show most of
// "app-prod", though neither holds a piece of it.
void mark_words(const std::string& form, const std::string& secret, std::vector<bool>& shown) {
  for (std::size_t start = 0; start < form.size();) {
    if (is_separator(form[start])) {
      ++start;
      continue;
    }
    std::size_t end = start;
    while (end < form.size() && !is_separator(form[end])) ++end;
    const std::string_view word(form.data() + start, end - start);
    if (word.size() >= 2) {
      for (std::size_t at = secret.find(word); at != std::string::npos; at = secret.find(word, at + 1)) {
        std::fill_n(shown.begin() + static_cast<std::ptrdiff_t>(at), word.size(), true);
      }
    }
    start = end;
  }
}

// Whether a part, in any of its `forms`, holds a piece of a secret, a whole one, or a word
// (mark_words) that a secret holds.
bool KnownSecrets::holds_secret(const std::vector<std::string>& forms) const {
  for (const auto& form : forms) {
    for (std::size_t i = 0; i + k_secret_piece_length <= form.size(); ++i) {
      if (m_pieces.contains(piece_at(form, i))) return true;
    }
    for (const auto& secret : m_whole) {
      if (form.find(secret) != std::string::npos) return true;
      // A short word of the part inside a secret (a user "app" for "app-prod").
      std::vector<bool> shown(secret.size(), false);
      mark_words(form, secret, shown);
      if (std::find(shown.begin(), shown.end(), true) != shown.end()) return true;
    }
  }
  return false;
}

bool KnownSecrets::reveal_secret(const std::vector<std::vector<std::string>>& parts) const {
  for (const auto& secret : m_whole) {
    std::vector<bool> shown(secret.size(), false);
    for (const auto& forms : parts) {
      for (const auto& form : forms) {
        if (form.find(secret) != std::string::npos) return true;
        mark_words(form, secret, shown);
        // Each piece of the secret that the part shows anywhere counts as shown wherever
        // the secret holds it: more than the part literally shows, the safe way to be wrong.
        if (secret.size() < k_secret_piece_length) continue;
        std::unordered_set<std::uint32_t> pieces;
        for (std::size_t i = 0; i + k_secret_piece_length <= form.size(); ++i) pieces.insert(piece_at(form, i));
        for (std::size_t i = 0; i + k_secret_piece_length <= secret.size(); ++i) {
          if (pieces.contains(piece_at(secret, i))) std::fill_n(shown.begin() + i, k_secret_piece_length, true);
        }
      }
    }
    // More than half of it shown: the rest is too easily guessed.
    const auto hidden = static_cast<std::size_t>(std::count(shown.begin(), shown.end(), false));
    if (hidden * 2 < secret.size()) return true;
  }
  return false;
}

// A byte of a rendering's syntax that may stand next to a plain part (the '/' and ':'
// around a URI's user name, the '=' and space around a conninfo value): shown with it.
bool is_separator(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x80 && !std::isalnum(byte) && c != '*';
}

// The plain spans of each whole occurrence of a rendering in `text`, each with the
// separator on either side of it (a password "teama secret" masked nothing but the space of
// "user=teama password=****"): in `plain` when they may be shown; when together they reveal
// a secret (their separators counted in), those holding any of one in `to_mask` instead.
// Only whole occurrences: the same user name in free text (a libpq message quoting a
// misread password) is searched for pieces like any text.
void KnownSecrets::rendering_spans_in(std::string_view text, std::vector<Span>& plain, std::vector<Span>& to_mask) const {
  for (const auto& rendering : m_renderings) {
    if (rendering.text.empty()) continue;
    std::vector<std::vector<std::string>> parts;
    std::vector<Span> widened;
    for (std::size_t i = 0; i < rendering.plain.size(); ++i) {
      const auto [begin, end] = rendering.plain[i];
      const std::size_t low = begin > 0 && is_separator(rendering.text[begin - 1]) ? begin - 1 : begin;
      const std::size_t high = end < rendering.text.size() && is_separator(rendering.text[end]) ? end + 1 : end;
      widened.emplace_back(low, high);
      const std::string written = rendering.text.substr(low, high - low);
      std::vector<std::string> forms{written, percent_decoded(written)};
      if (i < rendering.read.size()) {
        forms.push_back(rendering.text.substr(low, begin - low) + rendering.read[i] + rendering.text.substr(end, high - end));
      }
      parts.push_back(std::move(forms));
    }
    const bool reveals = reveal_secret(parts);
    for (std::size_t at = text.find(rendering.text); at != std::string_view::npos;
         at = text.find(rendering.text, at + 1)) {
      for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto [begin, end] = rendering.plain[i];
        if (!reveals) {
          plain.emplace_back(at + widened[i].first, at + widened[i].second);
          continue;
        }
        const std::string written = rendering.text.substr(begin, end - begin);
        std::vector<std::string> forms{written, percent_decoded(written)};
        if (i < rendering.read.size()) forms.push_back(rendering.read[i]);
        if (begin < end && holds_secret(forms)) to_mask.emplace_back(at + begin, at + end);
      }
    }
  }
}

std::vector<Span> KnownSecrets::spans_in(std::string_view text) const {
  std::vector<Span> runs;
  if (m_whole.empty()) return runs;
  for (std::size_t i = 0; i + k_secret_piece_length <= text.size(); ++i) {
    if (!m_pieces.contains(piece_at(text, i))) continue;
    if (!runs.empty() && i <= runs.back().second) {
      runs.back().second = i + k_secret_piece_length;
    } else {
      runs.emplace_back(i, i + k_secret_piece_length);
    }
  }
  std::vector<Span> plain, to_mask;
  if (!m_renderings.empty()) rendering_spans_in(text, plain, to_mask);
  runs = without(runs, plain);
  std::erase_if(runs, [&](const Span& run) { return is_coincidence(text, run); });
  if (!to_mask.empty()) {
    runs.insert(runs.end(), to_mask.begin(), to_mask.end());
    std::sort(runs.begin(), runs.end());
  }
  return whole_characters(text, runs);
}

std::string redact(std::string_view text, const KnownSecrets& known_secrets) {
  const std::string out = masked(text, known_secrets.spans_in(text));
  const std::string uris_masked = masked(out, uri_password_spans(out));
  return redact_password_parameters(masked(uris_masked, password_option_values(uris_masked)));
}

std::string redact(std::string_view text, const std::vector<std::string>& known_secrets) {
  KnownSecrets secrets;
  for (const auto& secret : known_secrets) secrets.add(secret);
  return redact(text, secrets);
}

std::optional<Span> uri_userinfo_password(std::string_view after_scheme) {
  const std::size_t at = after_scheme.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t colon = after_scheme.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return Span{colon + 1, at};
}

std::vector<std::string> uri_passwords(std::string_view text) {
  std::vector<std::string> passwords;
  for (const auto& [begin, end] : uri_password_spans(text)) {
    if (end > begin) passwords.emplace_back(text.substr(begin, end - begin));
  }
  return passwords;
}

} // namespace migrate_init
