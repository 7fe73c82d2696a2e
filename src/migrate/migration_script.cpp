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

// A statement the file's text has no use for in psql's absence, whatever the mode.
std::optional<std::string> copy_problem(std::string_view file_name, const SqlStatement& statement) {
  const auto words = words_of(statement);
  if (word_at(words, 0) != "copy" || !(has_top_level_word(words, "stdin") || has_top_level_word(words, "stdout"))) {
    return std::nullopt;
  }
  return location(file_name, statement.line) +
         ": COPY ... STDIN/STDOUT needs psql to send or read the data; use INSERT, or COPY from a file on the server";
}

// What no server can run, in either direction: unterminated text, psql meta-commands,
// COPY from the client.
std::vector<std::string> statement_problems(std::string_view file_name, const SplitSql& rest,
                                            const std::vector<std::string>& copy_problems) {
  std::vector<std::string> problems;
  if (rest.error) problems.push_back(location(file_name, rest.error_line.value_or(1)) + ": " + *rest.error);
  if (rest.meta_command_line) {
    problems.push_back(location(file_name, *rest.meta_command_line) +
                       ": a psql meta-command (\\...) cannot run on the server; use plain SQL");
  }
  problems.insert(problems.end(), copy_problems.begin(), copy_problems.end());
  return problems;
}

// Why a statement cannot run in the file's one transaction, if it cannot.
std::optional<std::string> transaction_problem(std::string_view file_name, const SqlStatement& statement) {
  const std::string word = first_word(statement);
  const auto words = words_of(statement);
  const bool ends_transaction = word == "commit" || word == "end" || word == "abort" ||
                                (word == "rollback" && word_at(words, 1) != "to") || word == "begin" ||
                                word == "start";
  if (ends_transaction) {
    return location(file_name, statement.line) + ": " + upper(word) +
           " inside a migration would split it from its ledger row (remove it, or put "
           "`-- migrate-init: no-transaction` on the file's first line)";
  }
  if (auto reason = needs_no_transaction(statement)) {
    return location(file_name, statement.line) + ": " + *reason +
           " cannot run inside a transaction block; put `-- migrate-init: no-transaction` on the file's first line";
  }
  return std::nullopt;
}

// A marker line of dbmate's layout: its index, where it starts and where the line after it
// starts (the end of the text when it is the last line).
struct MarkerLine {
  std::size_t index;
  std::size_t start;
  std::size_t next;
};

// What the file's lines say before anything is split: its mode and its sections' markers.
struct Layout {
  TransactionMode mode = TransactionMode::transaction;
  std::optional<MarkerLine> up, down;
};

// Reads the lines, without keeping them, up to where nothing more can change the layout.
Layout read_layout(std::string_view text) {
  Layout layout;
  bool in_header = true;
  for (std::size_t index = 0, start = 0; !(layout.up && layout.down && !in_header); ++index) {
    const std::size_t newline = text.find('\n', start);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    const std::string_view line = text.substr(start, end - start);
    const std::size_t first = line.find_first_not_of(" \t\r\f\v");
    // Only a line that starts with '-' can be a comment, so only those are squeezed.
    const std::string squeezed_line = first != std::string_view::npos && line[first] == '-' ? squeezed(line) : "";
    const MarkerLine marker{index, start, end == text.size() ? end : end + 1};
    if (squeezed_line.rfind("--migrate:up", 0) == 0 && !layout.up) layout.up = marker;
    if (squeezed_line.rfind("--migrate:down", 0) == 0 && !layout.down) layout.down = marker;
    if (first != std::string_view::npos && squeezed_line.rfind("--", 0) != 0) in_header = false;
    if ((in_header || (layout.up && layout.up->index == index)) && is_no_transaction_marker(squeezed_line)) {
      layout.mode = TransactionMode::none;
    }
    if (newline == std::string_view::npos) break;
    start = newline + 1;
  }
  return layout;
}

// What splitting the up section found, statement by statement.
struct UpSection {
  std::vector<std::string> copy_problems;
  std::vector<std::pair<std::size_t, std::string>> transaction_problems; // statement index, problem
  std::string first_word_of_first, first_word_of_last;
  std::size_t end_of_first = 0; // where the first statement's text ends in up.sql
};

// Checks one statement and keeps what the mode needs of it (see MigrationScript).
void take_statement(std::string_view file_name, MigrationScript& script, UpSection& found, SqlStatement&& statement) {
  if (auto problem = copy_problem(file_name, statement)) found.copy_problems.push_back(std::move(*problem));
  if (script.mode == TransactionMode::transaction) {
    const std::size_t index = script.up_statements.size();
    if (auto problem = transaction_problem(file_name, statement)) found.transaction_problems.emplace_back(index, *problem);
    found.first_word_of_last = first_word(statement);
    if (index == 0) {
      found.first_word_of_first = found.first_word_of_last;
      found.end_of_first = statement.offset + statement.text.size();
    }
    std::string().swap(statement.text);
    std::vector<SqlToken> first_token{std::move(statement.tokens.front())};
    statement.tokens.swap(first_token);
  }
  script.up_statements.push_back(std::move(statement));
}

// A file wrapped in BEGIN ... COMMIT runs in migrate-init's own transaction instead, so
// that its ledger row commits with it: the wrapper statements are cut out, in place.
bool remove_own_transaction(MigrationScript& script, const UpSection& found) {
  auto& statements = script.up_statements;
  const std::string& first = found.first_word_of_first;
  const std::string& last = found.first_word_of_last;
  if (statements.size() < 2 || !((first == "begin" || first == "start") && (last == "commit" || last == "end"))) {
    return false;
  }
  std::string& sql = script.up.sql;
  const std::size_t after_begin = sql.find(';', found.end_of_first);
  if (after_begin == std::string::npos) return false;
  const std::size_t start = after_begin + 1;
  const std::size_t end = statements.back().offset;
  script.up.first_line +=
      static_cast<std::size_t>(std::count(sql.begin(), sql.begin() + static_cast<std::ptrdiff_t>(start), '\n'));
  sql.erase(end);
  sql.erase(0, start);
  statements.pop_back();
  statements.erase(statements.begin());
  for (auto& statement : statements) statement.offset -= start;
  script.own_transaction_removed = true;
  return true;
}

void add_transaction_problems(MigrationScript& script, const UpSection& found, bool wrapper_removed,
                              std::size_t statement_count) {
  for (const auto& [index, problem] : found.transaction_problems) {
    if (wrapper_removed && (index == 0 || index + 1 == statement_count)) continue; // the wrapper itself
    script.problems.push_back(problem);
  }
}

void split_up_section(std::string_view file_name, MigrationScript& script) {
  UpSection found;
  const SplitSql rest = split_sql_in_windows(
      script.up.sql, [&](SqlStatement&& statement) { take_statement(file_name, script, found, std::move(statement)); },
      script.up.first_line);
  const auto problems = statement_problems(file_name, rest, found.copy_problems);
  script.problems.insert(script.problems.end(), problems.begin(), problems.end());
  if (script.mode != TransactionMode::transaction) return;
  const std::size_t statement_count = script.up_statements.size();
  add_transaction_problems(script, found, remove_own_transaction(script, found), statement_count);
}

// Where a section starts (after its marker, or at the file's start) and ends (at the other
// marker when that one follows, or at the end), as offsets into the text.
struct Bounds {
  std::size_t from, to, first_line;
};

Bounds section_bounds(const std::optional<MarkerLine>& marker, const std::optional<MarkerLine>& other, std::size_t size) {
  const std::size_t first = marker ? marker->index + 1 : 0;
  const std::size_t from = marker ? marker->next : 0;
  const std::size_t to = other && other->index >= first ? std::max(other->start, from) : size;
  return {from, to, first + 1};
}

void shift_lines(SqlStatement& statement, std::size_t offset, std::size_t lines) {
  statement.offset += offset;
  statement.line += lines;
  for (auto& token : statement.tokens) token.line += lines;
}

} // namespace

SplitSql split_sql_in_windows(std::string_view sql, const std::function<void(SqlStatement&&)>& visit,
                              std::size_t first_line, std::size_t window) {
  SplitSql rest;
  std::size_t base = 0, base_line = first_line, size = std::max<std::size_t>(window, 1);
  for (;;) {
    const std::string_view tail = sql.substr(base);
    const bool last = tail.size() <= size;
    SplitSql piece = split_sql(last ? tail : tail.substr(0, size));
    if (!last && piece.statements.size() < 2) {
      size *= 2; // one statement longer than the window: grow it until the statement ends
      continue;
    }
    // The window's last statement may go on past the window: it is split again next time.
    const std::size_t taken = last ? piece.statements.size() : piece.statements.size() - 1;
    const std::size_t resume_line = last ? 0 : piece.statements.back().line;
    if (piece.meta_command_line && !rest.meta_command_line && (last || *piece.meta_command_line < resume_line)) {
      rest.meta_command_line = *piece.meta_command_line + base_line - 1;
    }
    for (std::size_t i = 0; i < taken; ++i) {
      shift_lines(piece.statements[i], base, base_line - 1);
      visit(std::move(piece.statements[i]));
    }
    if (last) {
      rest.error = piece.error;
      if (piece.error_line) rest.error_line = *piece.error_line + base_line - 1;
      return rest;
    }
    base += piece.statements.back().offset;
    base_line += resume_line - 1;
    size = std::max<std::size_t>(window, 1);
  }
}

std::vector<std::string> down_section_problems(std::string_view file_name, const MigrationScript& script) {
  if (!script.down) return {};
  std::vector<std::string> copy_problems;
  const SplitSql rest = split_sql_in_windows(
      script.down->sql,
      [&](SqlStatement&& statement) {
        if (auto problem = copy_problem(file_name, statement)) copy_problems.push_back(std::move(*problem));
      },
      script.down->first_line);
  return statement_problems(file_name, rest, copy_problems);
}

MigrationScript parse_migration_script(std::string_view file_name, std::string_view text) {
  return parse_migration_script_in_place(file_name, std::string(text));
}

MigrationScript parse_migration_script_in_place(std::string_view file_name, std::string&& text) {
  MigrationScript script;
  const Layout layout = read_layout(text);
  script.mode = layout.mode;
  if (layout.down && !layout.up) {
    script.problems.push_back(location(file_name, layout.down->index + 1) +
                              ": a -- migrate:down section but no -- migrate:up section, so nothing would be "
                              "applied; put -- migrate:up above the statements to apply");
  }
  // libpq sends text up to its first NUL byte: the rest of the file, the ledger row and the
  // COMMIT would be dropped without an error.
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    const auto line = static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n')) + 1;
    script.problems.push_back(location(file_name, line) +
                              ": a NUL byte, which cannot be sent to the server (is the file UTF-16 or binary?)");
  }
  if (layout.down) {
    const Bounds down = section_bounds(layout.down, layout.up, text.size());
    script.down = ScriptSection{text.substr(down.from, down.to - down.from), down.first_line};
  }
  const Bounds up = section_bounds(layout.up, layout.down, text.size());
  text.erase(up.to);
  text.erase(0, up.from);
  script.up = ScriptSection{std::move(text), up.first_line};
  split_up_section(file_name, script);
  return script;
}

} // namespace migrate_init
