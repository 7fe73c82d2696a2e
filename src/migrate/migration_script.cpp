#include "migrate/migration_script.hpp"

#include "migrate/ledger_name.hpp"

#include <algorithm>
#include <cctype>

namespace migrate_init {
namespace {

// A line with every space removed and lower-cased: "-- +goose NO TRANSACTION" -> "--+goosenotransaction".
std::string squeezed(std::string_view line) {
  std::string out;
  for (char c : line) {
    if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool is_no_transaction_marker(const std::string& line) {
  return line == "--migrate-init:no-transaction" || line == "--migrate:uptransaction:false" ||
         line == "--+goosenotransaction" || line == "--atlas:txmodenone";
}

struct Line {
  std::size_t offset;
  std::string_view text;
};

std::vector<Line> lines_of(std::string_view text) {
  std::vector<Line> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back({start, text.substr(start, end - start)});
    if (end == text.size()) break;
    start = end + 1;
  }
  return lines;
}

// The words of a statement in order, with their paren depth, for recognising its kind.
struct Word {
  std::string text;
  int depth;
};

std::vector<Word> words_of(const SqlStatement& statement) {
  std::vector<Word> words;
  int depth = 0;
  for (const auto& token : statement.tokens) {
    if (token.kind == SqlToken::Kind::symbol && token.text == "(") ++depth;
    else if (token.kind == SqlToken::Kind::symbol && token.text == ")") --depth;
    else if (token.kind == SqlToken::Kind::word) words.push_back({token.text, depth});
  }
  return words;
}

std::string word_at(const std::vector<Word>& words, std::size_t index) {
  return index < words.size() ? words[index].text : "";
}

bool has_top_level_word(const std::vector<Word>& words, std::string_view word) {
  return std::any_of(words.begin(), words.end(), [&](const Word& w) { return w.depth == 0 && w.text == word; });
}

std::string first_word(const SqlStatement& statement) {
  for (const auto& token : statement.tokens) {
    if (token.kind == SqlToken::Kind::word) return token.text;
    return "";
  }
  return "";
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

// Reads a possibly schema-qualified name starting at tokens[index]: returns it quoted
// ("s"."t") and moves index past it; nullopt if no name is there.
std::optional<std::string> read_name(const std::vector<SqlToken>& tokens, std::size_t& index, std::string* last_part) {
  std::string quoted;
  for (;;) {
    if (index >= tokens.size()) return std::nullopt;
    const auto& token = tokens[index];
    if (token.kind != SqlToken::Kind::word && token.kind != SqlToken::Kind::quoted_identifier) return std::nullopt;
    quoted += quote_identifier(token.text);
    if (last_part) *last_part = token.text;
    ++index;
    if (index < tokens.size() && tokens[index].kind == SqlToken::Kind::symbol && tokens[index].text == ".") {
      quoted += ".";
      ++index;
      continue;
    }
    return quoted;
  }
}

bool is_word(const std::vector<SqlToken>& tokens, std::size_t index, std::string_view word) {
  return index < tokens.size() && tokens[index].kind == SqlToken::Kind::word && tokens[index].text == word;
}

// Moves index past a parenthesised option list, as in REINDEX (VERBOSE) ...
void skip_parenthesised(const std::vector<SqlToken>& tokens, std::size_t& index) {
  if (index >= tokens.size() || tokens[index].text != "(") return;
  int depth = 0;
  for (; index < tokens.size(); ++index) {
    if (tokens[index].kind != SqlToken::Kind::symbol) continue;
    if (tokens[index].text == "(") ++depth;
    if (tokens[index].text == ")" && --depth == 0) {
      ++index;
      return;
    }
  }
}

std::string location(std::string_view file_name, std::size_t line) {
  return std::string(file_name) + ":" + std::to_string(line);
}

// A file wrapped in BEGIN ... COMMIT runs in migrate-init's own transaction instead, so
// that its ledger row commits with it: the wrapper statements are cut out.
void remove_own_transaction(MigrationScript& script) {
  auto& statements = script.up_statements;
  if (statements.size() < 2) return;
  const std::string first = first_word(statements.front());
  const std::string last = first_word(statements.back());
  if (!((first == "begin" || first == "start") && (last == "commit" || last == "end"))) return;
  const std::string& sql = script.up.sql;
  const std::size_t after_begin = sql.find(';', statements.front().offset + statements.front().text.size());
  if (after_begin == std::string::npos) return;
  const std::size_t start = after_begin + 1;
  const std::size_t end = statements.back().offset;
  const auto newlines = static_cast<std::size_t>(std::count(sql.begin(), sql.begin() + static_cast<std::ptrdiff_t>(start), '\n'));
  script.up = ScriptSection{sql.substr(start, end - start), script.up.first_line + newlines};
  statements.erase(statements.end() - 1);
  statements.erase(statements.begin());
  script.own_transaction_removed = true;
}

void check_transactional(std::string_view file_name, MigrationScript& script) {
  remove_own_transaction(script);
  for (const auto& statement : script.up_statements) {
    const std::string word = first_word(statement);
    const auto words = words_of(statement);
    const bool ends_transaction = word == "commit" || word == "end" || word == "abort" ||
                                  (word == "rollback" && word_at(words, 1) != "to") || word == "begin" ||
                                  word == "start";
    if (ends_transaction) {
      script.problems.push_back(location(file_name, statement.line) + ": " + upper(word) +
                                " inside a migration would split it from its ledger row (remove it, or put "
                                "`-- migrate-init: no-transaction` on the file's first line)");
    } else if (auto reason = needs_no_transaction(statement)) {
      script.problems.push_back(location(file_name, statement.line) + ": " + *reason +
                                " cannot run inside a transaction block; put `-- migrate-init: no-transaction` on "
                                "the file's first line");
    }
  }
}

} // namespace

std::optional<std::string> needs_no_transaction(const SqlStatement& statement) {
  const auto words = words_of(statement);
  const std::string w0 = word_at(words, 0), w1 = word_at(words, 1), w2 = word_at(words, 2);
  if (w0 == "vacuum") return "VACUUM";
  if ((w0 == "create" || w0 == "drop") && (w1 == "database" || w1 == "tablespace")) return upper(w0 + " " + w1);
  if (w0 == "alter" && w1 == "system") return "ALTER SYSTEM";
  if (w0 == "create" && (w1 == "index" || (w1 == "unique" && w2 == "index")) && has_top_level_word(words, "concurrently")) {
    return "CREATE INDEX CONCURRENTLY";
  }
  if (w0 == "drop" && w1 == "index" && w2 == "concurrently") return "DROP INDEX CONCURRENTLY";
  if (w0 == "reindex" && has_top_level_word(words, "concurrently")) return "REINDEX CONCURRENTLY";
  if (w0 == "reindex" && (has_top_level_word(words, "database") || has_top_level_word(words, "system"))) {
    return "REINDEX DATABASE/SYSTEM";
  }
  if (w0 == "alter" && w1 == "table" && has_top_level_word(words, "detach") && has_top_level_word(words, "concurrently")) {
    return "DETACH PARTITION CONCURRENTLY";
  }
  return std::nullopt;
}

std::optional<ConcurrentIndex> concurrent_index(const SqlStatement& statement) {
  const auto& tokens = statement.tokens;
  std::size_t i = 0;
  if (is_word(tokens, 0, "create")) {
    i = is_word(tokens, 1, "unique") ? 2 : 1;
    if (!is_word(tokens, i, "index") || !is_word(tokens, i + 1, "concurrently")) return std::nullopt;
    i += 2;
    if (is_word(tokens, i, "if") && is_word(tokens, i + 1, "not") && is_word(tokens, i + 2, "exists")) i += 3;
    ConcurrentIndex target;
    if (!is_word(tokens, i, "on")) {
      std::string name;
      if (read_name(tokens, i, &name)) target.index = name;
    }
    if (!is_word(tokens, i, "on")) return target;
    ++i;
    if (is_word(tokens, i, "only")) ++i;
    target.table = read_name(tokens, i, nullptr);
    return target;
  }
  if (is_word(tokens, 0, "reindex")) {
    i = 1;
    skip_parenthesised(tokens, i);
    const bool index = is_word(tokens, i, "index");
    const bool table = is_word(tokens, i, "table");
    if (!(index || table) || !is_word(tokens, i + 1, "concurrently")) {
      return has_top_level_word(words_of(statement), "concurrently") ? std::optional(ConcurrentIndex{}) : std::nullopt;
    }
    i += 2;
    ConcurrentIndex target;
    std::string last_part;
    const auto name = read_name(tokens, i, &last_part);
    if (index && name) target.index = last_part;
    if (table) target.table = name;
    return target;
  }
  return std::nullopt;
}

namespace {

// A section split into statements, with file line numbers.
SplitSql split_section(const ScriptSection& section) {
  SplitSql split = split_sql(section.sql);
  const std::size_t shift = section.first_line - 1;
  for (auto& statement : split.statements) {
    statement.line += shift;
    for (auto& token : statement.tokens) token.line += shift;
  }
  if (split.error_line) *split.error_line += shift;
  if (split.meta_command_line) *split.meta_command_line += shift;
  return split;
}

// What no server can run, in either direction: unterminated text, psql meta-commands,
// COPY from the client.
std::vector<std::string> statement_problems(std::string_view file_name, const SplitSql& split) {
  std::vector<std::string> problems;
  if (split.error) problems.push_back(location(file_name, split.error_line.value_or(1)) + ": " + *split.error);
  if (split.meta_command_line) {
    problems.push_back(location(file_name, *split.meta_command_line) +
                       ": a psql meta-command (\\...) cannot run on the server; use plain SQL");
  }
  for (const auto& statement : split.statements) {
    const auto words = words_of(statement);
    if (word_at(words, 0) == "copy" && (has_top_level_word(words, "stdin") || has_top_level_word(words, "stdout"))) {
      problems.push_back(location(file_name, statement.line) +
                         ": COPY ... STDIN/STDOUT needs psql to send or read the data; use INSERT, or COPY "
                         "from a file on the server");
    }
  }
  return problems;
}

} // namespace

std::vector<std::string> down_section_problems(std::string_view file_name, const MigrationScript& script) {
  if (!script.down) return {};
  return statement_problems(file_name, split_section(*script.down));
}

MigrationScript parse_migration_script(std::string_view file_name, std::string_view text) {
  MigrationScript script;
  const auto lines = lines_of(text);
  std::optional<std::size_t> up_marker, down_marker; // indices into lines
  bool in_header = true;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string line = squeezed(lines[i].text);
    if (line.rfind("--migrate:up", 0) == 0 && !up_marker) up_marker = i;
    if (line.rfind("--migrate:down", 0) == 0 && !down_marker) down_marker = i;
    if (!line.empty() && line.rfind("--", 0) != 0) in_header = false;
    if ((in_header || up_marker == i) && is_no_transaction_marker(line)) script.mode = TransactionMode::none;
  }
  const auto section = [&](std::size_t first, std::size_t end) {
    if (first >= lines.size() || first >= end) return ScriptSection{"", first + 1};
    const std::size_t from = lines[first].offset;
    const std::size_t to = end < lines.size() ? lines[end].offset : text.size();
    return ScriptSection{std::string(text.substr(from, to - from)), first + 1};
  };
  const std::size_t up_first = up_marker ? *up_marker + 1 : 0;
  const std::size_t up_end = down_marker && *down_marker >= up_first ? *down_marker : lines.size();
  script.up = section(up_first, up_end);
  if (down_marker) script.down = section(*down_marker + 1, up_marker && *up_marker > *down_marker ? *up_marker : lines.size());

  if (down_marker && !up_marker) {
    script.problems.push_back(location(file_name, *down_marker + 1) +
                              ": a -- migrate:down section but no -- migrate:up section, so nothing would be "
                              "applied; put -- migrate:up above the statements to apply");
  }
  // libpq sends text up to its first NUL byte: the rest of the file, the ledger row and the
  // COMMIT would be dropped without an error.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const auto line = static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n')) + 1;
    script.problems.push_back(location(file_name, line) +
                              ": a NUL byte, which cannot be sent to the server (is the file UTF-16 or binary?)");
  }

  SplitSql split = split_section(script.up);
  auto problems = statement_problems(file_name, split);
  script.problems.insert(script.problems.end(), problems.begin(), problems.end());
  script.up_statements = std::move(split.statements);
  if (script.mode == TransactionMode::transaction) check_transactional(file_name, script);
  return script;
}

} // namespace migrate_init
