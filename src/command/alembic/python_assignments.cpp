#include "command/alembic/python_assignments.hpp"

#include <algorithm>

namespace migrate_init::alembic {
namespace {

// ---- tokens and logical lines ----

struct PyToken {
  enum class Kind { name, string, number, op };
  Kind kind;
  // Into the source text, which outlives the tokens (read_module_assignments' argument):
  // a no-op start reads every revision file, and a copy per token was most of the lexing.
  std::string_view text;  // a string's value without prefix and quotes
  std::size_t line = 0;
  bool plain = true;      // a string with no f/b prefix and no backslash: its text is its value
};

// A logical line: physical lines joined by brackets, backslashes and triple quotes.
struct LogicalLine {
  std::vector<PyToken> tokens;
  std::size_t line = 0;
  bool indented = false;
};

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

class Lexer {
public:
  explicit Lexer(std::string_view text) : m_text(text) {}

  // The file's logical lines; nullopt with `error` set on text Python would not tokenize.
  std::optional<std::vector<LogicalLine>> run(std::string& error) {
    while (m_at < m_text.size()) {
      if (!step(error)) return std::nullopt;
    }
    if (m_depth > 0) {
      error = "line " + std::to_string(m_open_line) + ": a bracket that is never closed";
      return std::nullopt;
    }
    finish_line();
    return std::move(m_lines);
  }

private:
  bool step(std::string& error) {
    const char c = m_text[m_at];
    if (m_line_start && m_depth == 0) return start_line();
    if (c == '\n') {
      if (m_depth == 0) finish_line();
      ++m_line;
      ++m_at;
      m_line_start = true;
      return true;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f') return ++m_at, true;
    if (c == '#') {
      while (m_at < m_text.size() && m_text[m_at] != '\n') ++m_at;
      return true;
    }
    if (c == '\\') {
      if (m_at + 1 < m_text.size() && m_text[m_at + 1] == '\n') {
        m_at += 2;
        ++m_line;
        return true;
      }
      if (m_at + 2 < m_text.size() && m_text[m_at + 1] == '\r' && m_text[m_at + 2] == '\n') {
        m_at += 3;
        ++m_line;
        return true;
      }
      error = "line " + std::to_string(m_line) + ": a backslash outside a string";
      return false;
    }
    if (is_name_start(c)) return name_or_string(error);
    if (c == '"' || c == '\'') return string(0, error);
    if ((c >= '0' && c <= '9') || (c == '.' && m_at + 1 < m_text.size() && m_text[m_at + 1] >= '0' &&
                                    m_text[m_at + 1] <= '9')) {
      const std::size_t from = m_at;
      while (m_at < m_text.size() && (is_name_char(m_text[m_at]) || m_text[m_at] == '.')) ++m_at;
      push(PyToken::Kind::number, m_text.substr(from, m_at - from));
      return true;
    }
    return op(error);
  }

  // At the start of a physical line outside brackets: its indentation, or a blank line.
  bool start_line() {
    std::size_t at = m_at;
    while (at < m_text.size() && (m_text[at] == ' ' || m_text[at] == '\t' || m_text[at] == '\f')) ++at;
    m_line_start = false;
    if (m_current.tokens.empty()) {
      m_current.indented = at > m_at;
      m_current.line = m_line;
    }
    m_at = at;
    return true;
  }

  bool name_or_string(std::string& error) {
    std::size_t end = m_at;
    while (end < m_text.size() && is_name_char(m_text[end])) ++end;
    const std::string_view word = m_text.substr(m_at, end - m_at);
    if (end < m_text.size() && (m_text[end] == '"' || m_text[end] == '\'') && word.size() <= 2 &&
        std::all_of(word.begin(), word.end(), [](char c) { return std::string_view("rRbBuUfFtT").find(c) != std::string_view::npos; })) {
      return string(word.size(), error);
    }
    m_at = end;
    push(PyToken::Kind::name, word);
    return true;
  }

  // A string literal whose prefix is `prefix` bytes long, at m_at.
  bool string(std::size_t prefix, std::string& error) {
    const std::string prefix_text = lowered(m_text.substr(m_at, prefix));
    std::size_t at = m_at + prefix;
    const char quote = m_text[at];
    const char quotes[] = {quote, quote, quote};
    const bool triple = m_text.substr(at, 3) == std::string_view(quotes, 3);
    const std::string_view end_quotes(quotes, triple ? 3 : 1);
    const std::size_t start_line = m_line;
    at += end_quotes.size();
    const std::size_t from = at; // the value is the text up to the closing quotes, as written
    // Only the quote, a backslash and a newline mean anything inside a string: skip to the next.
    const std::string_view specials = quote == '"' ? "\"\\\n" : "'\\\n";
    bool escaped = false;
    for (;;) {
      at = m_text.find_first_of(specials, at);
      if (at == std::string_view::npos || (!triple && m_text[at] == '\n')) {
        error = "line " + std::to_string(start_line) + ": a string that is never closed";
        return false;
      }
      const char c = m_text[at];
      if (c == '\\' && at + 1 < m_text.size()) {
        escaped = true;
        if (m_text[at + 1] == '\n') ++m_line;
        at += 2;
        continue;
      }
      if (c == quote && m_text.substr(at, end_quotes.size()) == end_quotes) break;
      if (c == '\n') ++m_line;
      ++at;
    }
    m_at = at + end_quotes.size();
    PyToken token{PyToken::Kind::string, m_text.substr(from, at - from), start_line};
    token.plain = !escaped && prefix_text.find_first_of("bft") == std::string::npos;
    push(std::move(token));
    return true;
  }

  bool op(std::string& error) {
    static constexpr std::string_view k_three[] = {"**=", "//=", ">>=", "<<=", "..."};
    static constexpr std::string_view k_two[] = {":=", "==", "!=", "<=", ">=", "->", "+=", "-=", "*=", "/=",
                                                 "%=", "&=", "|=", "^=", "@=", "**", "//", "<<", ">>"};
    std::size_t size = 1;
    // Every longer operator's second character is one of these: most operators ( ) , = .
    // are followed by something else and need no comparison.
    const bool longer = m_at + 1 < m_text.size() && std::string_view("=>*/<.").find(m_text[m_at + 1]) != std::string_view::npos;
    for (auto candidate : k_three) {
      if (longer && m_text.substr(m_at, 3) == candidate) size = 3;
    }
    if (longer && size == 1) {
      for (auto candidate : k_two) {
        if (m_text.substr(m_at, 2) == candidate) size = 2;
      }
    }
    const std::string_view text = m_text.substr(m_at, size);
    if (size == 1 && std::string_view("([{").find(text[0]) != std::string_view::npos) {
      if (m_depth++ == 0) m_open_line = m_line;
    } else if (size == 1 && std::string_view(")]}").find(text[0]) != std::string_view::npos) {
      if (m_depth == 0) {
        error = "line " + std::to_string(m_line) + ": a closing bracket that closes nothing";
        return false;
      }
      --m_depth;
    }
    m_at += size;
    push(PyToken::Kind::op, text);
    return true;
  }

  static std::string lowered(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  }

  void push(PyToken::Kind kind, std::string_view text) { push(PyToken{kind, text, m_line}); }
  void push(PyToken token) {
    if (m_current.tokens.empty() && m_current.line == 0) m_current.line = token.line;
    if (m_current.tokens.capacity() == 0) m_current.tokens.reserve(8); // most lines: one growth at most
    m_current.tokens.push_back(std::move(token));
  }
  void finish_line() {
    if (!m_current.tokens.empty()) m_lines.push_back(std::move(m_current));
    m_current = LogicalLine{};
  }

  std::string_view m_text;
  std::size_t m_at = 0;
  std::size_t m_line = 1;
  std::size_t m_depth = 0;
  std::size_t m_open_line = 0;
  bool m_line_start = true;
  LogicalLine m_current;
  std::vector<LogicalLine> m_lines;
};

// ---- module-level assignments ----

// Names through which module code can bind a variable without naming it.
constexpr std::string_view k_dynamic[] = {"globals", "locals", "vars", "exec", "eval", "setattr", "__dict__", "__import__"};

bool is_one_of(const PyToken& token, std::span<const std::string_view> names) {
  return token.kind == PyToken::Kind::name && std::find(names.begin(), names.end(), token.text) != names.end();
}
bool is_op(const PyToken& token, std::string_view text) { return token.kind == PyToken::Kind::op && token.text == text; }

// Adjacent plain strings from tokens[at], concatenated as Python does; nullopt if none.
std::optional<std::string> string_group(const std::vector<PyToken>& tokens, std::size_t& at) {
  if (at >= tokens.size() || tokens[at].kind != PyToken::Kind::string || !tokens[at].plain) return std::nullopt;
  std::string value;
  while (at < tokens.size() && tokens[at].kind == PyToken::Kind::string) {
    if (!tokens[at].plain) return std::nullopt;
    value += tokens[at++].text;
  }
  return value;
}

// Strings separated by commas up to `end` (exclusive); a trailing comma allowed.
std::optional<std::vector<std::string>> string_list(const std::vector<PyToken>& tokens, std::size_t at,
                                                    std::size_t end, bool& had_comma) {
  std::vector<std::string> out;
  had_comma = false;
  while (at < end) {
    auto item = string_group(tokens, at);
    if (!item || at > end) return std::nullopt;
    out.push_back(std::move(*item));
    if (at == end) break;
    if (!is_op(tokens[at], ",")) return std::nullopt;
    had_comma = true;
    ++at;
  }
  return out;
}

std::optional<LiteralValue> read_value(const std::vector<PyToken>& tokens, std::size_t at) {
  const std::size_t end = tokens.size();
  if (at >= end) return std::nullopt;
  if (end - at == 1 && tokens[at].kind == PyToken::Kind::name && tokens[at].text == "None") return LiteralValue{true, false, {}};
  bool had_comma = false;
  const bool bracketed = (is_op(tokens[at], "(") && is_op(tokens[end - 1], ")")) ||
                         (is_op(tokens[at], "[") && is_op(tokens[end - 1], "]"));
  if (bracketed) {
    auto items = string_list(tokens, at + 1, end - 1, had_comma);
    if (!items) return std::nullopt;
    // ('a') is a string, ('a',) a tuple: to_tuple makes both one revision.
    const bool scalar = is_op(tokens[at], "(") && !had_comma && items->size() == 1;
    return LiteralValue{false, scalar, std::move(*items)};
  }
  auto items = string_list(tokens, at, end, had_comma);
  if (!items || items->empty()) return std::nullopt;
  return LiteralValue{false, !had_comma && items->size() == 1, std::move(*items)};
}

// Where an assignment's value starts: after `name =` or `name: annotation =`; 0 if the line
// is not one plain assignment (chained, augmented, annotation only).
std::size_t value_start(const std::vector<PyToken>& tokens) {
  if (tokens.size() < 2) return 0;
  std::size_t at = 1;
  if (is_op(tokens[1], ":")) {
    int depth = 0;
    for (at = 2; at < tokens.size(); ++at) {
      if (tokens[at].kind == PyToken::Kind::op && std::string_view("([{").find(tokens[at].text) != std::string_view::npos) ++depth;
      if (tokens[at].kind == PyToken::Kind::op && std::string_view(")]}").find(tokens[at].text) != std::string_view::npos) --depth;
      if (depth == 0 && is_op(tokens[at], "=")) break;
    }
    if (at == tokens.size()) return 0;
  }
  if (!is_op(tokens[at], "=")) return 0;
  for (std::size_t i = at + 1; i < tokens.size(); ++i) {
    if (is_op(tokens[i], "=")) return 0; // revision = down_revision = 'x'
  }
  return at + 1;
}

using Assignments = std::map<std::string, Assignment>;

// Why a module-level line makes the values of `names` uncertain, or empty when it does not.
std::string check_module_line(const LogicalLine& line, std::span<const std::string_view> names, Assignments& found) {
  const auto& tokens = line.tokens;
  // Built only for a line that has something to say: most lines have not.
  const auto at = [&line] { return "line " + std::to_string(line.line) + ": "; };
  if (!line.indented && is_one_of(tokens[0], names)) {
    const std::size_t start = value_start(tokens);
    const std::string name(tokens[0].text);
    if (start == 0) return at() + name + " is not assigned a literal value";
    auto value = read_value(tokens, start);
    if (!value) return at() + name + " is not a string, a tuple or list of strings, or None";
    if (!found.emplace(name, Assignment{std::move(*value), line.line}).second) return at() + name + " is assigned twice";
    return {};
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const bool attribute = i > 0 && is_op(tokens[i - 1], ".");
    if (!attribute && is_one_of(tokens[i], names)) {
      return at() + std::string(tokens[i].text) + (line.indented ? " set in a module-level block" : " used in code Alembic runs");
    }
    if (is_one_of(tokens[i], k_dynamic)) return at() + std::string(tokens[i].text) + " at module level";
  }
  return {};
}

// Whether a module-level line is `from x import *`: it binds whatever names x exports,
// `names` among them perhaps, so only an assignment after it is certain.
bool is_star_import(const LogicalLine& line) {
  const auto& tokens = line.tokens;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (tokens[i].kind == PyToken::Kind::name && tokens[i].text == "import" && is_op(tokens[i + 1], "*")) return true;
  }
  return false;
}

// Whether a module-level line starts a def or class (or decorates one): the indented lines
// after it are its body, whose names are not the module's.
bool starts_body(const LogicalLine& line) {
  const auto& first = line.tokens[0];
  const bool definition = first.kind == PyToken::Kind::name && (first.text == "def" || first.text == "class" || first.text == "async");
  return definition || is_op(first, "@");
}

} // namespace

std::optional<std::map<std::string, Assignment>> read_module_assignments(std::string_view text,
                                                                        std::span<const std::string_view> names,
                                                                        std::string& uncertain_reason) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  auto lines = Lexer(text).run(uncertain_reason);
  if (!lines) return std::nullopt;
  Assignments found;
  std::size_t star_line = 0; // the last module-level `from x import *`
  bool in_body = false;      // inside a def or class: its names are not the module's
  for (const auto& line : *lines) {
    if (!line.indented) {
      in_body = starts_body(line);
      if (in_body) {
        if (line.tokens.size() > 1 && is_one_of(line.tokens[1], names)) {
          uncertain_reason =
              "line " + std::to_string(line.line) + ": " + std::string(line.tokens[1].text) + " defined as a function or class";
          return std::nullopt;
        }
        continue;
      }
    } else if (in_body) {
      continue;
    }
    if (is_star_import(line)) {
      // Rebinds what was assigned before it; what is assigned after it is certain.
      if (!found.empty()) {
        const auto& [name, assignment] = *found.begin();
        uncertain_reason = "line " + std::to_string(line.line) + ": import * after " + name + " (line " +
                           std::to_string(assignment.line) + "), which it may rebind";
        return std::nullopt;
      }
      star_line = line.line;
      continue;
    }
    if (std::string why = check_module_line(line, names, found); !why.empty()) {
      uncertain_reason = why;
      return std::nullopt;
    }
  }
  if (star_line != 0) {
    // A name assigned nowhere may be one the star import binds.
    for (const auto name : names) {
      if (!found.contains(std::string(name))) {
        uncertain_reason = "line " + std::to_string(star_line) + ": import * may bind " + std::string(name) +
                           ", which is not assigned after it";
        return std::nullopt;
      }
    }
  }
  return found;
}

} // namespace migrate_init::alembic
