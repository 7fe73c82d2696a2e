#include "sql_files/sql_splitter.hpp"

#include <algorithm>
#include <utility>

namespace migrate_init {
namespace {

// What each kind is called, and what the text it swallows is read as.
struct KindWords {
  const char* name;
  const char* container;
};

KindWords words_for(SqlUnterminated::Kind kind) {
  switch (kind) {
    case SqlUnterminated::Kind::parenthesis: return {"unbalanced parenthesis", "the statement"};
    case SqlUnterminated::Kind::quoted_string: return {"unterminated quoted string", "the string"};
    case SqlUnterminated::Kind::quoted_identifier: return {"unterminated quoted identifier", "the identifier"};
    case SqlUnterminated::Kind::dollar_quote: return {"unterminated dollar-quoted string", "the dollar-quoted string"};
    case SqlUnterminated::Kind::block_comment: break;
  }
  return {"unterminated /* comment", "the comment"};
}

// The other suspect, when the splitter cannot tell which opener is at fault.
std::string other_suspect(const SqlUnterminated& open) {
  const std::string line = std::to_string(open.other_line.value_or(0));
  switch (open.kind) {
    case SqlUnterminated::Kind::parenthesis:
      return "a \")\" is missing after a later \"(\", the last one on line " + line;
    case SqlUnterminated::Kind::block_comment:
      return "the /* inside it on line " + line +
             " opens a nested comment, which PostgreSQL allows, and needs a */ of its own";
    case SqlUnterminated::Kind::quoted_string:
    case SqlUnterminated::Kind::quoted_identifier:
    case SqlUnterminated::Kind::dollar_quote: break;
  }
  return "a " + open.opener + " before it in the statement, from line " + line + " on, is one too many";
}

// The character classes of PostgreSQL's scanner (scan.l, psqlscan.l). Bytes >= 0x80 are
// letters there, which makes every UTF-8 multi-byte character an identifier character.
bool is_high(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_identifier_start(char c) { return is_ascii_letter(c) || c == '_' || is_high(c); }
// A dollar-quote tag is an identifier without '$'.
bool is_tag_char(char c) { return is_identifier_start(c) || is_digit(c); }
bool is_identifier_char(char c) { return is_tag_char(c) || c == '$'; }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_one_of(char c, std::string_view set) { return set.find(c) != std::string_view::npos; }

bool is_routine_keyword(std::string_view word) { return word == "function" || word == "procedure"; }

// How far the statement's leading words match CREATE [OR REPLACE] {FUNCTION|PROCEDURE}:
// psql only looks for BEGIN ... END bodies in such statements.
enum class Head { start, create, create_or, create_or_replace, routine, other };

Head next_head(Head head, std::string_view word) {
  switch (head) {
    case Head::start: return word == "create" ? Head::create : Head::other;
    case Head::create:
      if (is_routine_keyword(word)) return Head::routine;
      return word == "or" ? Head::create_or : Head::other;
    case Head::create_or: return word == "replace" ? Head::create_or_replace : Head::other;
    case Head::create_or_replace: return is_routine_keyword(word) ? Head::routine : Head::other;
    case Head::routine:
    case Head::other: break;
  }
  return head;
}

// One pass over the text: each method consumes one lexical construct starting at pos_,
// and the statement being built is flushed at each splitting ';' and at the end.
class Splitter {
public:
  explicit Splitter(std::string_view sql) : sql_(sql) {}

  SplitSql run() {
    while (pos_ < sql_.size()) step();
    if (!open_parens_.empty()) fail_parenthesis();
    finish_statement(sql_.size());
    return std::move(result_);
  }

private:
  char at(std::size_t index) const { return index < sql_.size() ? sql_[index] : '\0'; }

  void step() {
    const char c = sql_[pos_];
    const char next = at(pos_ + 1);
    if (is_space(c)) return whitespace();
    if (c == '-' && next == '-') return line_comment();
    if (c == '/' && next == '*') return block_comment();
    if (c == '\'') return quoted_string(pos_ + 1, false);
    if (c == '"') return quoted_identifier(pos_ + 1);
    if (c == '$') return dollar();
    if (c == '\\') return meta_command();
    if (is_identifier_start(c)) return word_or_prefixed_literal();
    if (is_digit(c) || (c == '.' && is_digit(next))) return number();
    if (c == ';') return semicolon();
    symbol();
  }

  // Moves to `to`, counting the newlines passed over.
  void advance_to(std::size_t to) {
    line_ += static_cast<std::size_t>(std::count(sql_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                                 sql_.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
    pos_ = to;
  }

  // Consumes source [pos_, end) as one token; multi-line tokens carry their first line.
  void emit(SqlToken::Kind kind, std::size_t end, std::string text) {
    const std::size_t start = pos_;
    const std::size_t line = line_;
    advance_to(end);
    if (tokens_.empty()) {
      statement_offset_ = start;
      statement_line_ = line;
    }
    tokens_.push_back(SqlToken{kind, std::move(text), line});
  }

  void emit_raw(SqlToken::Kind kind, std::size_t end) {
    emit(kind, end, std::string(sql_.substr(pos_, end - pos_)));
  }

  // The 1-based line of a byte offset of the text.
  std::size_t line_of(std::size_t offset) const {
    return 1 + static_cast<std::size_t>(std::count(sql_.begin(), sql_.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
  }

  // The line of the first token of the same kind earlier in the statement, when there is
  // one: a stray one there shifts every pairing after it, so it may be the one at fault.
  std::optional<std::size_t> earlier_line(SqlToken::Kind kind, std::string_view prefix = {}) const {
    for (const auto& token : tokens_) {
      if (token.kind == kind && token.text.rfind(prefix, 0) == 0) return token.line;
    }
    return std::nullopt;
  }

  // Only the first problem matters: it is always at the end of the text, since an
  // unterminated construct swallows everything after it. `semicolon` is the first ';' it
  // swallowed, if any: the word after it starts the statement read into it.
  void fail(SqlUnterminated open, std::size_t semicolon) {
    if (result_.unterminated) return;
    std::size_t word = semicolon == std::string_view::npos ? sql_.size() : semicolon + 1;
    while (word < sql_.size() && is_space(sql_[word])) ++word;
    std::size_t end = word;
    while (end < sql_.size() && is_identifier_char(sql_[end])) ++end;
    if (end > word && is_identifier_start(sql_[word])) {
      open.swallowed_word = sql_.substr(word, end - word);
      std::transform(open.swallowed_word.begin(), open.swallowed_word.end(), open.swallowed_word.begin(),
                     [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; });
      open.swallowed_line = line_of(word);
    }
    result_.unterminated = std::move(open);
  }

  // A ';' in a dollar-quoted body or a comment is there by design: the first one names no
  // statement swallowed by mistake, so none is named.
  void fail_from(SqlUnterminated::Kind kind, std::string opener, std::size_t start, std::optional<std::size_t> other) {
    const bool by_design = kind == SqlUnterminated::Kind::dollar_quote || kind == SqlUnterminated::Kind::block_comment;
    fail(SqlUnterminated{kind, std::move(opener), line_of(start), other, {}, 0},
         by_design ? std::string_view::npos : sql_.find(';', start));
  }

  void whitespace() {
    while (pos_ < sql_.size() && is_space(sql_[pos_])) {
      if (sql_[pos_] == '\n') ++line_;
      ++pos_;
    }
  }

  // The newline is left for whitespace(), so a trailing '\r' is trimmed like any space.
  void line_comment() {
    const std::size_t newline = sql_.find('\n', pos_);
    advance_to(newline == std::string_view::npos ? sql_.size() : newline);
  }

  // PostgreSQL comments nest, unlike C's: /* a /* b */ c */ is one comment.
  void block_comment() {
    const std::size_t start = pos_;
    std::size_t depth = 0;
    std::size_t i = pos_;
    std::optional<std::size_t> nested; // the first /* inside it: a C habit makes it the likely culprit
    while ((i = sql_.find_first_of("/*", i)) != std::string_view::npos) {
      if (sql_[i] == '/' && at(i + 1) == '*') {
        if (depth++ == 1 && !nested) nested = i;
        i += 2;
      } else if (sql_[i] == '*' && at(i + 1) == '/') {
        i += 2;
        if (--depth == 0) return advance_to(i);
      } else {
        ++i;
      }
    }
    advance_to(sql_.size());
    fail_from(SqlUnterminated::Kind::block_comment, "/*", start,
              nested ? std::optional(line_of(*nested)) : std::nullopt);
  }

  // A string literal whose body starts at `body` (after any E, U&, B, X or N prefix and
  // the opening quote). '' is a quote in every kind; only E'' strings have backslash
  // escapes, since standard_conforming_strings makes backslash ordinary elsewhere.
  void quoted_string(std::size_t body, bool backslash_escapes) {
    const std::string_view stops = backslash_escapes ? std::string_view("'\\") : std::string_view("'");
    std::size_t i = body;
    while ((i = sql_.find_first_of(stops, i)) != std::string_view::npos) {
      if (sql_[i] == '\\') {
        i += 2;
      } else if (at(i + 1) == '\'') {
        i += 2;
      } else {
        return emit_raw(SqlToken::Kind::string, i + 1);
      }
    }
    const std::size_t start = pos_;
    const auto other = earlier_line(SqlToken::Kind::string);
    emit_raw(SqlToken::Kind::string, sql_.size());
    fail_from(SqlUnterminated::Kind::quoted_string, "'", start, other);
  }

  // The token text is the name itself: no quotes, "" undoubled. U&"..." escapes are kept
  // as written; nothing here needs the decoded name.
  void quoted_identifier(std::size_t body) {
    std::string name;
    std::size_t i = body;
    while (true) {
      const std::size_t quote = sql_.find('"', i);
      if (quote == std::string_view::npos) break;
      name.append(sql_.substr(i, quote - i));
      if (at(quote + 1) != '"') return emit(SqlToken::Kind::quoted_identifier, quote + 1, std::move(name));
      name += '"';
      i = quote + 2;
    }
    name.append(sql_.substr(std::min(i, sql_.size())));
    const std::size_t start = pos_;
    const auto other = earlier_line(SqlToken::Kind::quoted_identifier);
    emit(SqlToken::Kind::quoted_identifier, sql_.size(), std::move(name));
    fail_from(SqlUnterminated::Kind::quoted_identifier, "\"", start, other);
  }

  // '$' begins a parameter ($1), a dollar quote ($$ or $tag$) or is a lone symbol. A '$'
  // inside an identifier never gets here: word() consumes it (a$b, foo$$bar).
  void dollar() {
    std::size_t i = pos_ + 1;
    if (is_digit(at(i))) {
      while (is_digit(at(i))) ++i;
      return emit_raw(SqlToken::Kind::parameter, i);
    }
    while (is_tag_char(at(i))) ++i; // not a digit first: those made a parameter above
    if (at(i) != '$') return emit_raw(SqlToken::Kind::symbol, pos_ + 1);
    dollar_quote(sql_.substr(pos_, i + 1 - pos_));
  }

  // The body ends at the first exact (case-sensitive) repeat of the opening delimiter; a
  // plain search finds the same end as PostgreSQL's scanner, since tags cannot hold '$'.
  void dollar_quote(std::string_view delimiter) {
    const std::size_t close = sql_.find(delimiter, pos_ + delimiter.size());
    if (close != std::string_view::npos) return emit_raw(SqlToken::Kind::dollar_string, close + delimiter.size());
    const std::size_t start = pos_;
    const auto other = earlier_line(SqlToken::Kind::dollar_string, delimiter);
    emit_raw(SqlToken::Kind::dollar_string, sql_.size());
    fail_from(SqlUnterminated::Kind::dollar_quote, std::string(delimiter), start, other);
  }

  // psql runs meta-commands itself and reads their arguments up to the end of the line,
  // so the rest of the line is psql syntax, not SQL: skip it rather than lex it (an
  // apostrophe in `\echo don't` must not open a string).
  void meta_command() {
    if (!result_.meta_command_line) result_.meta_command_line = line_;
    line_comment();
  }

  // A one-letter E, U&, B, X or N prefix only counts at the start of a token, which is
  // where we are: "xe'...'" is the word xe followed by a plain string.
  void word_or_prefixed_literal() {
    const char c = sql_[pos_];
    const char next = at(pos_ + 1);
    if (next == '\'') {
      if (c == 'e' || c == 'E') return quoted_string(pos_ + 2, true);
      if (is_one_of(c, "bBxXnN")) return quoted_string(pos_ + 2, false);
    }
    if ((c == 'u' || c == 'U') && next == '&') {
      if (at(pos_ + 2) == '\'') return quoted_string(pos_ + 3, false);
      if (at(pos_ + 2) == '"') return quoted_identifier(pos_ + 3);
    }
    word();
  }

  void word() {
    std::size_t end = pos_ + 1;
    while (end < sql_.size() && is_identifier_char(sql_[end])) ++end;
    std::string text(sql_.substr(pos_, end - pos_));
    std::transform(text.begin(), text.end(), text.begin(), ascii_lower);
    track_begin_atomic(text);
    emit(SqlToken::Kind::word, end, std::move(text));
  }

  // psql's heuristic (psqlscan.l, PostgreSQL 14+) for the BEGIN ATOMIC ... END body of a
  // SQL-standard function: its semicolons must not split. CASE ... END nests inside it.
  void track_begin_atomic(std::string_view word) {
    head_ = next_head(head_, word);
    if (head_ != Head::routine || !open_parens_.empty()) return;
    if (word == "begin") {
      ++begin_depth_;
    } else if (word == "case") {
      if (begin_depth_ >= 1) ++begin_depth_;
    } else if (word == "end") {
      if (begin_depth_ > 0) --begin_depth_;
    }
  }

  // digits, then an optional fraction and exponent: 42, 3.14, .5, 1e10, 1.5E-3. "1..10"
  // is 1 followed by two dots, as in PostgreSQL, for array slices.
  void number() {
    std::size_t i = pos_;
    while (is_digit(at(i))) ++i;
    if (at(i) == '.' && at(i + 1) != '.') {
      ++i;
      while (is_digit(at(i))) ++i;
    }
    if (at(i) == 'e' || at(i) == 'E') {
      const std::size_t digits = (at(i + 1) == '+' || at(i + 1) == '-') ? i + 2 : i + 1;
      if (is_digit(at(digits))) {
        i = digits;
        while (is_digit(at(i))) ++i;
      }
    }
    emit_raw(SqlToken::Kind::number, i);
  }

  void semicolon() {
    if (open_parens_.empty() && begin_depth_ == 0) {
      finish_statement(pos_);
      ++pos_;
      return;
    }
    if (!open_parens_.empty() && swallowed_semicolon_ == std::string_view::npos) swallowed_semicolon_ = pos_;
    symbol();
  }

  // The outermost "(" still open is never closed; when another "(" was opened after it,
  // the missing ")" may be that one's instead.
  void fail_parenthesis() {
    const OpenParen& outer = open_parens_.front();
    const bool sure = outer.number + 1 == parens_opened_;
    fail(SqlUnterminated{SqlUnterminated::Kind::parenthesis, "\"(\"", outer.line,
                         sure ? std::nullopt : std::optional(last_paren_line_), {}, 0},
         swallowed_semicolon_);
  }

  void symbol() {
    const char c = sql_[pos_];
    if (c == '(') {
      open_parens_.push_back(OpenParen{line_, parens_opened_++});
      last_paren_line_ = line_;
    }
    // psql never lets the depth go negative, so a stray ')' does not block later splits.
    if (c == ')' && !open_parens_.empty()) {
      open_parens_.pop_back();
      if (open_parens_.empty()) swallowed_semicolon_ = std::string_view::npos; // that ';' was inside closed ones
    }
    emit_raw(SqlToken::Kind::symbol, pos_ + 1);
    // PostgreSQL reads ".." as one token, so the second dot of a[1..10] starts no ".10".
    if (c == '.' && at(pos_) == '.') emit_raw(SqlToken::Kind::symbol, pos_ + 1);
  }

  // Ends the statement being built at `end` (its ';' or the end of the text); statements
  // with only whitespace and comments are dropped.
  void finish_statement(std::size_t end) {
    if (!tokens_.empty()) {
      while (end > statement_offset_ && is_space(sql_[end - 1])) --end;
      result_.statements.push_back(SqlStatement{
          std::string(sql_.substr(statement_offset_, end - statement_offset_)), statement_offset_,
          statement_line_, std::move(tokens_)});
    }
    tokens_.clear();
    open_parens_.clear();
    parens_opened_ = 0;
    swallowed_semicolon_ = std::string_view::npos;
    begin_depth_ = 0;
    head_ = Head::start;
  }

  std::string_view sql_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  SplitSql result_;

  // The statement being built.
  std::vector<SqlToken> tokens_;
  std::size_t statement_offset_ = 0;
  std::size_t statement_line_ = 1;
  // The "(" still open, outermost first: its line, and how many "(" the statement opened before it.
  struct OpenParen {
    std::size_t line;
    std::size_t number;
  };
  std::vector<OpenParen> open_parens_;
  std::size_t parens_opened_ = 0;
  std::size_t last_paren_line_ = 0;
  std::size_t swallowed_semicolon_ = std::string_view::npos; // the first ';' a "(" kept from splitting
  std::size_t begin_depth_ = 0;
  Head head_ = Head::start;
};

} // namespace

SplitSql split_sql(std::string_view sql) { return Splitter(sql).run(); }

std::string describe(const SqlUnterminated& open) {
  const KindWords words = words_for(open.kind);
  std::string out = std::string(words.name) + ": " + (open.other_line ? "probably " : "") + "the " + open.opener +
                    " opened on line " + std::to_string(open.line) + " is never closed";
  if (open.other_line) out += " (or " + other_suspect(open) + "; the splitter cannot tell which)";
  if (!open.swallowed_word.empty()) {
    out += ", so the " + open.swallowed_word + " on line " + std::to_string(open.swallowed_line) +
           " is read as part of " + words.container;
  }
  return out;
}

} // namespace migrate_init
