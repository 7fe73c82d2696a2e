#include "sql_files/statement_kind.hpp"

#include "pipeline/ledger_name.hpp"

#include <algorithm>
#include <cctype>

namespace migrate_init {
namespace {

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

TransactionControl transaction_control(const SqlStatement& statement) {
  const auto words = words_of(statement);
  const std::string w0 = word_at(words, 0), w1 = word_at(words, 1);
  if (w0 == "begin" || (w0 == "start" && w1 == "transaction")) return TransactionControl::begin;
  if (w0 == "commit" || w0 == "end") {
    if (w1 == "prepared" || has_top_level_word(words, "chain")) return TransactionControl::other;
    return TransactionControl::commit;
  }
  if ((w0 == "rollback" && w1 != "to") || w0 == "abort") return TransactionControl::other;
  if (w0 == "prepare" && w1 == "transaction") return TransactionControl::other;
  return TransactionControl::none;
}


std::optional<TableTouch> table_touch(const SqlStatement& statement) {
  const auto& tokens = statement.tokens;
  std::size_t i = 0;
  TableTouch touch;
  touch.line = statement.line;
  if (is_word(tokens, 0, "insert") && is_word(tokens, 1, "into")) {
    i = 2;
    touch.on_conflict = has_top_level_word(words_of(statement), "conflict");
  } else if (is_word(tokens, 0, "create")) {
    i = 1;
    while (is_word(tokens, i, "unlogged") || is_word(tokens, i, "temp") || is_word(tokens, i, "temporary") ||
           is_word(tokens, i, "global") || is_word(tokens, i, "local")) {
      ++i;
    }
    if (!is_word(tokens, i, "table")) return std::nullopt;
    ++i;
    if (is_word(tokens, i, "if") && is_word(tokens, i + 1, "not") && is_word(tokens, i + 2, "exists")) i += 3;
    touch.creates = true;
  } else {
    return std::nullopt;
  }
  std::string last_part;
  if (!read_name(tokens, i, &last_part)) return std::nullopt;
  touch.table = last_part;
  return touch;
}


bool copies_with_client(const SqlStatement& statement) {
  const auto words = words_of(statement);
  return word_at(words, 0) == "copy" && (has_top_level_word(words, "stdin") || has_top_level_word(words, "stdout"));
}

std::string statement_keyword(const SqlStatement& statement) { return upper(first_word(statement)); }

} // namespace migrate_init
