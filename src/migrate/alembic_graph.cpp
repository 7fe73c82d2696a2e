#include "migrate/alembic_graph.hpp"

#include "migrate/migration_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <span>
#include <sstream>

namespace migrate_init::alembic {
namespace {

namespace fs = std::filesystem;

// ---- Python, tokenized just enough to read module-level assignments ----

struct PyToken {
  enum class Kind { name, string, number, op };
  Kind kind;
  std::string text;       // a string's value without prefix and quotes
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
      push(PyToken::Kind::number, std::string(m_text.substr(from, m_at - from)));
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
    push(PyToken::Kind::name, std::string(word));
    return true;
  }

  // A string literal whose prefix is `prefix` bytes long, at m_at.
  bool string(std::size_t prefix, std::string& error) {
    const std::string prefix_text = lowered(m_text.substr(m_at, prefix));
    std::size_t at = m_at + prefix;
    const char quote = m_text[at];
    const bool triple = m_text.substr(at, 3) == std::string(3, quote);
    const std::size_t quote_size = triple ? 3 : 1;
    const std::size_t start_line = m_line;
    at += quote_size;
    std::string value;
    bool escaped = false;
    for (;;) {
      if (at >= m_text.size() || (!triple && m_text[at] == '\n')) {
        error = "line " + std::to_string(start_line) + ": a string that is never closed";
        return false;
      }
      const char c = m_text[at];
      if (c == '\\' && at + 1 < m_text.size()) {
        escaped = true;
        if (m_text[at + 1] == '\n') ++m_line;
        value += m_text.substr(at, 2);
        at += 2;
        continue;
      }
      if (c == quote && m_text.substr(at, quote_size) == std::string(quote_size, quote)) break;
      if (c == '\n') ++m_line;
      value += c;
      ++at;
    }
    m_at = at + quote_size;
    PyToken token{PyToken::Kind::string, std::move(value), start_line};
    token.plain = !escaped && prefix_text.find_first_of("bft") == std::string::npos;
    push(std::move(token));
    return true;
  }

  bool op(std::string& error) {
    static constexpr std::string_view k_three[] = {"**=", "//=", ">>=", "<<=", "..."};
    static constexpr std::string_view k_two[] = {":=", "==", "!=", "<=", ">=", "->", "+=", "-=", "*=", "/=",
                                                 "%=", "&=", "|=", "^=", "@=", "**", "//", "<<", ">>"};
    std::size_t size = 1;
    for (auto candidate : k_three) {
      if (m_text.substr(m_at, 3) == candidate) size = 3;
    }
    if (size == 1) {
      for (auto candidate : k_two) {
        if (m_text.substr(m_at, 2) == candidate) size = 2;
      }
    }
    const std::string text(m_text.substr(m_at, size));
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

  void push(PyToken::Kind kind, std::string text) { push(PyToken{kind, std::move(text), m_line}); }
  void push(PyToken token) {
    if (m_current.tokens.empty() && m_current.line == 0) m_current.line = token.line;
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

constexpr std::string_view k_names[] = {"revision", "down_revision", "branch_labels", "depends_on"};
// Names through which module code can bind a variable without naming it.
constexpr std::string_view k_dynamic[] = {"globals", "locals", "vars", "exec", "eval", "setattr", "__dict__", "__import__"};

bool is_one_of(const PyToken& token, std::span<const std::string_view> names) {
  return token.kind == PyToken::Kind::name && std::find(names.begin(), names.end(), token.text) != names.end();
}
bool is_op(const PyToken& token, std::string_view text) { return token.kind == PyToken::Kind::op && token.text == text; }

// A value Alembic reads through util.to_tuple: None, a string, or a tuple/list of strings.
struct Value {
  bool none = false;
  bool scalar = false; // one string, not in a tuple
  std::vector<std::string> strings;
};

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

std::optional<Value> read_value(const std::vector<PyToken>& tokens, std::size_t at) {
  const std::size_t end = tokens.size();
  if (at >= end) return std::nullopt;
  if (end - at == 1 && tokens[at].kind == PyToken::Kind::name && tokens[at].text == "None") return Value{true, false, {}};
  bool had_comma = false;
  const bool bracketed = (is_op(tokens[at], "(") && is_op(tokens[end - 1], ")")) ||
                         (is_op(tokens[at], "[") && is_op(tokens[end - 1], "]"));
  if (bracketed) {
    auto items = string_list(tokens, at + 1, end - 1, had_comma);
    if (!items) return std::nullopt;
    // ('a') is a string, ('a',) a tuple: to_tuple makes both one revision.
    const bool scalar = is_op(tokens[at], "(") && !had_comma && items->size() == 1;
    return Value{false, scalar, std::move(*items)};
  }
  auto items = string_list(tokens, at, end, had_comma);
  if (!items || items->empty()) return std::nullopt;
  return Value{false, !had_comma && items->size() == 1, std::move(*items)};
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

bool valid_id(const std::string& id) {
  // Alembic refuses @ - + : in an id; anything beyond printable ASCII is not trusted here.
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return c > ' ' && c < 0x7f && std::string_view("@-+:").find(c) == std::string_view::npos;
  });
}

struct Assignments {
  std::map<std::string, std::pair<Value, std::size_t>> values; // name -> value, line
};

// Why a module-level line makes the file's values uncertain, or empty when it does not.
std::string check_module_line(const LogicalLine& line, Assignments& found) {
  const auto& tokens = line.tokens;
  const std::string at = "line " + std::to_string(line.line) + ": ";
  if (!line.indented && is_one_of(tokens[0], k_names)) {
    const std::size_t start = value_start(tokens);
    if (start == 0) return at + tokens[0].text + " is not assigned a literal value";
    auto value = read_value(tokens, start);
    if (!value) return at + tokens[0].text + " is not a string, a tuple or list of strings, or None";
    if (!found.values.emplace(tokens[0].text, std::make_pair(std::move(*value), line.line)).second) {
      return at + tokens[0].text + " is assigned twice";
    }
    return {};
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const bool attribute = i > 0 && is_op(tokens[i - 1], ".");
    if (!attribute && is_one_of(tokens[i], k_names)) {
      return at + tokens[i].text + (line.indented ? " set in a module-level block" : " used in code Alembic runs");
    }
    if (is_one_of(tokens[i], k_dynamic)) return at + tokens[i].text + " at module level";
    if (tokens[i].kind == PyToken::Kind::name && tokens[i].text == "import" && i + 1 < tokens.size() &&
        is_op(tokens[i + 1], "*")) {
      return at + "import * at module level";
    }
  }
  return {};
}

std::optional<Revision> revision_from(const Assignments& found, std::string& uncertain_reason) {
  const auto revision = found.values.find("revision");
  if (revision == found.values.end()) {
    uncertain_reason = "no module-level revision = '...'";
    return std::nullopt;
  }
  const auto& [id_value, id_line] = revision->second;
  const std::string at = "line " + std::to_string(id_line) + ": ";
  if (!id_value.scalar || !valid_id(id_value.strings[0])) {
    uncertain_reason = at + "revision is not one revision id";
    return std::nullopt;
  }
  Revision out{id_value.strings[0], {}, {}, {}, {}, id_line};
  const auto down = found.values.find("down_revision");
  if (down == found.values.end()) {
    uncertain_reason = "no module-level down_revision (Alembic requires it)";
    return std::nullopt;
  }
  auto list_of = [&](const char* name, std::vector<std::string>& into) {
    const auto it = found.values.find(name);
    if (it == found.values.end()) return true;
    into = it->second.first.strings;
    if (std::all_of(into.begin(), into.end(), valid_id) &&
        std::find(into.begin(), into.end(), out.id) == into.end()) {
      return true;
    }
    uncertain_reason = "line " + std::to_string(it->second.second) + ": " + name + " is not a list of revision ids";
    return false;
  };
  if (!list_of("down_revision", out.down_revisions) || !list_of("branch_labels", out.branch_labels) ||
      !list_of("depends_on", out.depends_on)) {
    return std::nullopt;
  }
  return out;
}

// ---- files ----

std::optional<std::string> read_text(const fs::path& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return std::nullopt; // a FIFO named x.py would block
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(text).str();
}

std::string shown(const fs::path& path) { return printable(path.string()); }

void mark_uncertain(Graph& graph, const std::string& where, const std::string& message) {
  if (graph.certain) graph.uncertain_reason = where + ": " + message;
  graph.certain = false;
  graph.doubts.push_back({where, message});
}

// Alembic's rule (script/base.py, _only_source_rev_file): a name ending in .py that does
// not start with `.#` (an editor's lock file) or `__init__`. Files starting with `_` or
// `.` otherwise ARE loaded.
bool is_revision_file_name(const std::string& name) {
  return name.size() > 3 && name.ends_with(".py") && !name.starts_with(".#") && !name.starts_with("__init__");
}

// The revision files of one version directory, sorted, as Alembic lists them: the top
// level, or every directory but __pycache__ ones when recursive.
std::vector<fs::path> revision_files(const fs::path& dir, bool recursive, Graph& graph) {
  std::vector<fs::path> files;
  std::error_code error;
  std::vector<fs::path> pending{dir};
  while (!pending.empty()) {
    const fs::path current = pending.back();
    pending.pop_back();
    for (fs::directory_iterator it(current, error), end; !error && it != end; it.increment(error)) {
      const std::string name = it->path().filename().string();
      std::error_code kind_error;
      if (it->is_directory(kind_error)) {
        if (recursive && !name.ends_with("__pycache__")) pending.push_back(it->path());
      } else if (is_revision_file_name(name)) {
        files.push_back(it->path());
      }
    }
    if (error) mark_uncertain(graph, shown(current), "cannot be read: " + error.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace

IniSection parse_ini_section(std::string_view text, std::string_view section) {
  IniSection wanted, defaults;
  IniSection* current = nullptr;
  std::string* value = nullptr;
  std::set<std::string> keys;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) {
      value = nullptr;
      continue;
    }
    if (line[first] == '#' || line[first] == ';') continue;
    if (first > 0 && value) {
      *value += "\n" + line.substr(first);
      continue;
    }
    if (line[first] == '[' && line.back() == ']') {
      const std::string name = line.substr(first + 1, line.size() - first - 2);
      current = name == section ? &wanted : (name == "DEFAULT" ? &defaults : nullptr);
      if (current) current->found = true;
      keys.clear();
      value = nullptr;
      continue;
    }
    if (!current) {
      value = nullptr;
      continue;
    }
    const std::size_t separator = line.find_first_of("=:");
    if (separator == std::string::npos) continue; // ConfigParser refuses it; nothing Alembic reads
    std::string key = line.substr(first, separator - first);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    for (char& c : key) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    std::string rest = line.substr(separator + 1);
    rest.erase(0, rest.find_first_not_of(" \t") == std::string::npos ? rest.size() : rest.find_first_not_of(" \t"));
    if (!keys.insert(key).second && current->problem.empty()) current->problem = "option " + key + " is set twice";
    value = &(current->values[key] = rest);
  }
  for (const auto& [key, fallback] : defaults.values) wanted.values.emplace(key, fallback);
  if (wanted.problem.empty()) wanted.problem = defaults.problem;
  return wanted;
}

namespace {

// One TOML value's text after `key =`, from `at` up to the end of the value (arrays may go
// on over lines); `at` moves past it.
std::string toml_value_text(std::string_view text, std::size_t& at) {
  std::string out;
  int depth = 0;
  char quote = 0;
  for (; at < text.size(); ++at) {
    const char c = text[at];
    if (quote) {
      if (c == '\\' && quote == '"' && at + 1 < text.size()) out += text[at++];
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      while (at < text.size() && text[at] != '\n') ++at;
      if (depth == 0) break;
      continue;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == '\n' && depth == 0) {
      break;
    }
    out += c;
  }
  return out;
}

// A TOML string, boolean or array of strings as IniSection keeps it; nullopt for anything
// else. `ok` is false for a string this does not read (escapes, multi-line strings).
std::optional<std::string> toml_scalar_or_list(std::string_view value, bool& ok) {
  ok = true;
  std::vector<std::string> items;
  std::size_t at = 0;
  auto skip = [&] { while (at < value.size() && std::string_view(" \t\r\n,").find(value[at]) != std::string_view::npos) ++at; };
  auto string_at = [&]() -> std::optional<std::string> {
    const char quote = value[at];
    const std::size_t end = value.find(quote, at + 1);
    if (end == std::string_view::npos || value.substr(at, 3) == std::string(3, quote)) return std::nullopt;
    std::string item(value.substr(at + 1, end - at - 1));
    if (quote == '"' && item.find('\\') != std::string::npos) return std::nullopt;
    at = end + 1;
    return item;
  };
  while (!value.empty() && std::string_view(" \t\r\n").find(value.back()) != std::string_view::npos) value.remove_suffix(1);
  skip();
  if (value.substr(at) == "true" || value.substr(at) == "false") return std::string(value.substr(at));
  const bool array = at < value.size() && value[at] == '[';
  if (array) ++at;
  for (skip(); at < value.size() && !(array && value[at] == ']'); skip()) {
    if (value[at] != '"' && value[at] != '\'') return std::nullopt; // a number, a table: not ours
    auto item = string_at();
    if (!item) return ok = false, std::nullopt;
    items.push_back(std::move(*item));
    if (!array) break;
  }
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : "\n") + item;
  return joined;
}

} // namespace

IniSection parse_pyproject_alembic(std::string_view text) {
  IniSection section;
  bool inside = false;
  for (std::size_t at = 0; at < text.size(); ++at) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') {
      at = end;
      continue;
    }
    line.remove_prefix(first);
    if (line[0] == '[') {
      const std::size_t close = line.find(']');
      inside = close != std::string_view::npos && line.substr(0, close + 1) == "[tool.alembic]";
      section.found = section.found || inside;
      at = end;
      continue;
    }
    const std::size_t equals = line.find('=');
    std::size_t value_at = at + first + (equals == std::string_view::npos ? line.size() : equals + 1);
    const std::string value = toml_value_text(text, value_at);
    at = value_at;
    if (!inside || equals == std::string_view::npos) continue;
    std::string key(line.substr(0, equals));
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    bool ok = true;
    if (auto read = toml_scalar_or_list(value, ok)) section.values[key] = *read;
    if (!ok && section.problem.empty()) section.problem = "pyproject.toml: " + key + " is not a string read here";
  }
  return section;
}

namespace {

// ConfigParser's interpolation of a value: %(here)s, %(other option)s and %%.
std::optional<std::string> interpolate(const std::string& value, const IniSection& ini, const std::string& here,
                                       int depth = 0) {
  if (depth > 10) return std::nullopt;
  std::string out;
  for (std::size_t at = 0; at < value.size(); ++at) {
    if (value[at] != '%') {
      out += value[at];
      continue;
    }
    if (value.compare(at, 2, "%%") == 0) {
      out += '%';
      ++at;
      continue;
    }
    const std::size_t close = value.find(")s", at);
    if (value.compare(at, 2, "%(") != 0 || close == std::string::npos) return std::nullopt;
    const std::string name = value.substr(at + 2, close - at - 2);
    if (name == "here") {
      out += here;
    } else {
      const auto other = ini.values.find(name);
      if (other == ini.values.end()) return std::nullopt;
      auto expanded = interpolate(other->second, ini, here, depth + 1);
      if (!expanded) return std::nullopt;
      out += *expanded;
    }
    at = close + 1;
  }
  return out;
}

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);
}

// A location from the ini as Alembic resolves it: `package:path` is a package resource
// (not followed here); a relative path is relative to the directory Alembic runs in,
// trusted only when that is the ini's own directory.
std::optional<fs::path> location(const std::string& text, const fs::path& ini_dir, std::string& uncertain) {
  const fs::path path(text);
  if (!path.is_absolute() && text.find(':') != std::string::npos) {
    if (uncertain.empty()) uncertain = "the location " + text + " is a package resource, which is not read here";
    return std::nullopt;
  }
  if (!path.is_absolute() && !same_directory(ini_dir, fs::current_path()) && uncertain.empty()) {
    uncertain = "the location " + text + " is relative to the directory Alembic runs in, not to " + shown(ini_dir);
  }
  return path;
}

std::vector<std::string> split_locations(const std::string& text, const IniSection& ini, std::string& uncertain) {
  std::string separator_name;
  for (const char* key : {"path_separator", "version_path_separator"}) {
    if (const auto it = ini.values.find(key); it != ini.values.end()) {
      separator_name = it->second;
      break;
    }
  }
  std::vector<std::string> out;
  auto add = [&](std::string item) {
    const std::size_t from = item.find_first_not_of(" \t\n");
    if (from == std::string::npos) return;
    item = item.substr(from, item.find_last_not_of(" \t\n") - from + 1);
    out.push_back(item);
  };
  if (separator_name.empty()) { // Alembic's legacy split: on commas and runs of spaces
    std::string item;
    for (char c : text) {
      if (c == ',' || c == ' ') {
        add(std::move(item));
        item.clear();
      } else {
        item += c;
      }
    }
    add(std::move(item));
    return out;
  }
  const std::map<std::string, char> separators{{"space", ' '}, {"newline", '\n'}, {"os", ':'}, {":", ':'}, {";", ';'}};
  const auto separator = separators.find(separator_name);
  if (separator == separators.end()) {
    uncertain = "path_separator = " + separator_name + " is not one Alembic knows";
    return out;
  }
  std::string item;
  for (char c : text + separator->second) {
    if (c == separator->second) {
      add(std::move(item));
      item.clear();
    } else {
      item += c;
    }
  }
  return out;
}

// Fills the project's version directories and options from an [alembic] section.
void apply_ini(Project& project, const IniSection& ini, const fs::path& ini_path) {
  const fs::path ini_dir = fs::absolute(ini_path).parent_path();
  std::string& uncertain = project.uncertain_reason;
  if (!ini.problem.empty() && uncertain.empty()) uncertain = ini.problem;
  auto option = [&](const char* key) -> std::optional<std::string> {
    const auto it = ini.values.find(key);
    if (it == ini.values.end()) return std::nullopt;
    auto value = interpolate(it->second, ini, ini_dir.string());
    if (!value && uncertain.empty()) uncertain = std::string(key) + " uses an interpolation not read here";
    return value ? value : std::optional<std::string>("");
  };
  project.recursive = option("recursive_version_locations") == "true";
  if (option("sourceless") == "true" && uncertain.empty()) {
    uncertain = "sourceless = true (compiled revision files are not read here)";
  }
  project.version_dirs.clear();
  if (const auto locations = option("version_locations"); locations && !locations->empty()) {
    for (const auto& text : split_locations(*locations, ini, uncertain)) {
      if (auto path = location(text, ini_dir, uncertain)) project.version_dirs.push_back(*path);
    }
  } else {
    project.version_dirs.push_back(project.script_dir / "versions");
  }
}

std::optional<IniSection> read_ini(const fs::path& ini_path) {
  std::error_code error;
  if (!fs::is_regular_file(ini_path, error)) return std::nullopt;
  const auto text = read_text(ini_path);
  if (!text) return std::nullopt;
  IniSection section = parse_ini_section(*text, "alembic");
  if (!section.found) return std::nullopt;
  return section;
}

// The [tool.alembic] options of the pyproject.toml beside the ini, %(here)s expanded to its
// directory (and % escaped again for the ini's interpolation).
std::optional<IniSection> read_pyproject(const fs::path& ini_path) {
  const fs::path toml = fs::absolute(ini_path).parent_path() / "pyproject.toml";
  std::error_code error;
  if (!fs::is_regular_file(toml, error)) return std::nullopt;
  const auto text = read_text(toml);
  if (!text) return std::nullopt;
  IniSection section = parse_pyproject_alembic(*text);
  if (!section.found) return std::nullopt;
  for (auto& [key, value] : section.values) {
    auto expanded = interpolate(value, IniSection{}, toml.parent_path().string());
    if (!expanded && section.problem.empty()) section.problem = "pyproject.toml: " + key + " uses an interpolation not read here";
    std::string escaped;
    for (char c : expanded.value_or("")) escaped += c == '%' ? std::string("%%") : std::string(1, c);
    value = escaped;
  }
  return section;
}

// The ini's [alembic] section with, for each option it lacks, pyproject.toml's: Alembic
// looks in the ini first. A version_locations list from the toml is one path a line.
std::optional<IniSection> read_alembic_section(const fs::path& ini_path) {
  auto ini = read_ini(ini_path);
  const auto toml = read_pyproject(ini_path);
  if (!toml) return ini;
  IniSection merged = ini.value_or(IniSection{true, {}, {}});
  if (merged.problem.empty()) merged.problem = toml->problem;
  const bool toml_locations = !merged.values.contains("version_locations") && toml->values.contains("version_locations");
  for (const auto& [key, value] : toml->values) merged.values.emplace(key, value);
  if (toml_locations) merged.values["path_separator"] = "newline";
  return merged;
}

// The script directory an ini's [alembic] section names; nullopt, with `uncertain` set,
// when it names none that can be read.
std::optional<fs::path> script_location(const IniSection& ini, const fs::path& ini_path, std::string& uncertain) {
  const fs::path ini_dir = fs::absolute(ini_path).parent_path();
  const auto value = ini.values.find("script_location");
  if (value == ini.values.end()) {
    uncertain = "no script_location in its [alembic] section";
    return std::nullopt;
  }
  const auto expanded = interpolate(value->second, ini, ini_dir.string());
  if (!expanded) {
    uncertain = "script_location uses an interpolation not read here";
    return std::nullopt;
  }
  return location(*expanded, ini_dir, uncertain);
}

} // namespace

std::optional<Project> find_project(const fs::path& migrations_dir, const fs::path& ini_path) {
  std::error_code error;
  const auto ini = read_alembic_section(ini_path);
  if (fs::is_regular_file(migrations_dir / "env.py", error) && fs::is_directory(migrations_dir / "versions", error)) {
    Project project{migrations_dir, {migrations_dir / "versions"}, false, std::nullopt, {}};
    // The ini the migrator reads: the cwd's when it points here, else Flask-Migrate's own.
    std::string ignored;
    const auto location = ini ? script_location(*ini, ini_path, ignored) : std::nullopt;
    if (location && same_directory(*location, migrations_dir)) {
      project.ini = ini_path;
      apply_ini(project, *ini, ini_path);
    } else if (const auto own = read_ini(migrations_dir / "alembic.ini")) {
      project.ini = migrations_dir / "alembic.ini";
      apply_ini(project, *own, *project.ini);
    }
    // `alembic upgrade head` would read the cwd's ini and its other directory.
    if (location && !same_directory(*location, migrations_dir) && project.uncertain_reason.empty()) {
      project.uncertain_reason = shown(ini_path) + " names script_location " + shown(*location) + ", not " +
                                 shown(migrations_dir) + ": which one the migrator reads is not known";
    }
    return project;
  }
  if (!ini) return std::nullopt;
  Project project;
  project.ini = ini_path;
  const auto dir = script_location(*ini, ini_path, project.uncertain_reason);
  if (!dir) return project;
  project.script_dir = *dir;
  apply_ini(project, *ini, ini_path);
  if (!fs::is_directory(*dir, error) && project.uncertain_reason.empty()) {
    project.uncertain_reason = "script_location " + shown(*dir) + " is not a directory";
  }
  return project;
}

std::optional<Revision> parse_revision_source(std::string_view text, std::string& uncertain_reason) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  auto lines = Lexer(text).run(uncertain_reason);
  if (!lines) return std::nullopt;
  Assignments found;
  bool in_body = false; // inside a def or class: its names are not the module's
  for (const auto& line : *lines) {
    if (!line.indented) {
      const auto& first = line.tokens[0];
      in_body = first.kind == PyToken::Kind::name && (first.text == "def" || first.text == "class" || first.text == "async");
      in_body = in_body || is_op(first, "@");
      if (in_body) {
        if (line.tokens.size() > 1 && is_one_of(line.tokens[1], k_names)) {
          uncertain_reason = "line " + std::to_string(line.line) + ": " + line.tokens[1].text + " defined as a function or class";
          return std::nullopt;
        }
        continue;
      }
    } else if (in_body) {
      continue;
    }
    if (std::string why = check_module_line(line, found); !why.empty()) {
      uncertain_reason = why;
      return std::nullopt;
    }
  }
  return revision_from(found, uncertain_reason);
}

namespace {

std::string where(const Revision& revision) { return shown(revision.file) + ":" + std::to_string(revision.line); }

struct Index {
  std::map<std::string, const Revision*> by_id, by_label;
};

// Revisions by id and by branch label; a second revision with one id or label is a
// conflict Alembic resolves by file order (an id) or refuses (a label).
Index index_of(const std::vector<Revision>& revisions, Graph& graph) {
  Index index;
  for (const auto& revision : revisions) {
    auto [it, added] = index.by_id.emplace(revision.id, &revision);
    if (!added) {
      mark_uncertain(graph, where(*it->second), "revision " + revision.id + " is also the id of " + where(revision) +
                                                    ": two files with one revision id (give one a new id)");
      mark_uncertain(graph, where(revision), "revision " + revision.id + " is also the id of " + where(*it->second));
    }
  }
  for (const auto& revision : revisions) {
    for (const auto& label : revision.branch_labels) {
      if (!index.by_label.emplace(label, &revision).second || index.by_id.contains(label)) {
        mark_uncertain(graph, where(revision), "branch label " + label + " is already used by another revision");
      }
    }
  }
  return index;
}

void check_references(const std::vector<Revision>& revisions, const Index& index, Graph& graph) {
  for (const auto& revision : revisions) {
    for (const auto& down : revision.down_revisions) {
      if (!index.by_id.contains(down)) {
        mark_uncertain(graph, where(revision), "down_revision " + down + " of revision " + revision.id +
                                                   " names no revision (was its file deleted or renamed?)");
      }
    }
    for (const auto& dependency : revision.depends_on) {
      if (!index.by_id.contains(dependency) && !index.by_label.contains(dependency)) {
        mark_uncertain(graph, where(revision), "depends_on " + dependency + " of revision " + revision.id +
                                                   " names no revision or branch label");
      }
    }
  }
}

// A cycle of down_revisions (a -> b -> a), which Alembic refuses: Kahn's algorithm, so a
// long history needs no deep recursion. Revisions left once every one that nothing points
// at has been taken away are on a cycle or behind one.
void check_cycles(const Index& index, Graph& graph) {
  std::map<std::string, std::size_t> children; // how many revisions name it as down_revision
  for (const auto& [id, revision] : index.by_id) {
    for (const auto& down : revision->down_revisions) {
      if (index.by_id.contains(down)) ++children[down];
    }
  }
  std::vector<std::string> free;
  for (const auto& [id, revision] : index.by_id) {
    if (children[id] == 0) free.push_back(id);
  }
  std::size_t taken = 0;
  while (!free.empty()) {
    const std::string id = std::move(free.back());
    free.pop_back();
    ++taken;
    for (const auto& down : index.by_id.at(id)->down_revisions) {
      if (index.by_id.contains(down) && --children[down] == 0) free.push_back(down);
    }
  }
  if (taken == index.by_id.size()) return;
  for (const auto& [id, revision] : index.by_id) {
    if (children[id] > 0) {
      mark_uncertain(graph, where(*revision), "revision " + id + " is on or behind a cycle of down_revisions");
      return;
    }
  }
}

// "line 12: why" from parse_revision_source, as where "file:12" and "why".
Doubt file_doubt(const fs::path& file, const std::string& why) {
  if (why.starts_with("line ")) {
    const std::size_t colon = why.find(": ");
    if (colon != std::string::npos) return {shown(file) + ":" + why.substr(5, colon - 5), why.substr(colon + 2)};
  }
  return {shown(file), why};
}

} // namespace

Graph build_graph(std::vector<Revision> revisions) {
  Graph graph;
  std::sort(revisions.begin(), revisions.end(), [](const Revision& a, const Revision& b) {
    return a.id != b.id ? a.id < b.id : a.file < b.file;
  });
  const Index index = index_of(revisions, graph);
  check_references(revisions, index, graph);
  check_cycles(index, graph);
  std::set<std::string> named, depended_on;
  for (const auto& revision : revisions) {
    named.insert(revision.down_revisions.begin(), revision.down_revisions.end());
    for (const auto& dependency : revision.depends_on) {
      const auto labelled = index.by_label.find(dependency);
      depended_on.insert(labelled != index.by_label.end() ? labelled->second->id : dependency);
    }
  }
  for (const auto& [id, revision] : index.by_id) {
    if (named.contains(id)) continue;
    graph.heads.push_back(id);
    if (!depended_on.contains(id)) graph.version_heads.push_back(id);
  }
  graph.revisions = std::move(revisions);
  return graph;
}

std::vector<fs::path> list_revision_files(const Project& project, Graph& graph) {
  std::vector<fs::path> files;
  std::set<fs::path> seen; // Alembic reads a file listed twice (by two locations) once
  for (const auto& dir : project.version_dirs) {
    std::error_code error;
    if (!fs::is_directory(dir, error)) {
      // Alembic skips a version location that does not exist; a missing versions/ of a
      // script directory is an error in Alembic 1.8.
      if (dir == project.script_dir / "versions") mark_uncertain(graph, shown(dir), "is not a directory");
      continue;
    }
    for (auto& file : revision_files(dir, project.recursive, graph)) {
      if (seen.insert(fs::weakly_canonical(file, error)).second) files.push_back(std::move(file));
    }
  }
  return files;
}

Graph read_graph(const Project& project) {
  Graph files;
  if (!project.uncertain_reason.empty()) {
    mark_uncertain(files, shown(project.ini.value_or(project.script_dir)), project.uncertain_reason);
  }
  std::vector<Revision> revisions;
  for (const auto& file : list_revision_files(project, files)) {
    const auto text = read_text(file);
    std::string why = "cannot be read";
    auto revision = text ? parse_revision_source(*text, why) : std::nullopt;
    if (!revision) {
      const Doubt doubt = file_doubt(file, why);
      mark_uncertain(files, doubt.where, doubt.message);
      continue;
    }
    revision->file = file;
    revisions.push_back(std::move(*revision));
  }
  Graph graph = build_graph(std::move(revisions));
  if (!files.certain) {
    graph.uncertain_reason = files.uncertain_reason;
    graph.certain = false;
    graph.doubts.insert(graph.doubts.begin(), files.doubts.begin(), files.doubts.end());
  }
  return graph;
}

bool database_at_heads(const Graph& graph, const std::vector<std::string>& version_rows) {
  if (!graph.certain) return false;
  const std::set<std::string> rows(version_rows.begin(), version_rows.end());
  return rows == std::set<std::string>(graph.heads.begin(), graph.heads.end()) ||
         rows == std::set<std::string>(graph.version_heads.begin(), graph.version_heads.end());
}

} // namespace migrate_init::alembic
