#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// One lexical token of PostgreSQL SQL, outside comments.
struct SqlToken {
  enum class Kind {
    word,              // keyword or unquoted identifier, lower-cased ("create", "my_table", "a$b")
    quoted_identifier, // "Some Name": text is the name without the quotes, "" undoubled
    string,            // '...', E'...', U&'...', B'...', X'...', N'...': text is the raw source
    dollar_string,     // $$...$$ or $tag$...$tag$: text is the raw source
    number,            // 42, 3.14, 1e10
    parameter,         // $1
    symbol,            // one character of punctuation or operator: ( ) , . ; = etc.
  };
  Kind kind;
  std::string text;
  std::size_t line; // 1-based line where the token starts
};

// One statement of a file, as found by split_sql.
struct SqlStatement {
  std::string text;   // from its first token (leading whitespace and comments skipped) to
                      // its end, without the terminating ';' and without trailing whitespace
  std::size_t offset; // byte offset of `text` in the source
  std::size_t line;   // 1-based line where `text` starts
  std::vector<SqlToken> tokens; // every token of the statement, comments excluded
};

// A construct still open at the end of the text: it swallows everything after its opener,
// later statements (a COMMIT) included.
struct SqlUnterminated {
  enum class Kind { parenthesis, quoted_string, quoted_identifier, dollar_quote, block_comment };
  Kind kind;
  std::string opener; // as written: "(", "'", "\"", "$tag$", "/*"
  std::size_t line;   // where it opened
  // When set, the splitter cannot tell that this opener is the one at fault: the line of
  // another that may be (a parenthesis: the last "(" opened after it; a quote or dollar
  // quote: the first of its kind earlier in the statement, which may be one too many; a
  // comment: a /* nested inside it).
  std::optional<std::size_t> other_line;
  // The first word after the first ';' inside it (upper-cased), and its line: the statement
  // read into it. Empty when none follows, and for a dollar quote or a comment, whose ';'
  // are there by design.
  std::string swallowed_word;
  std::size_t swallowed_line = 0;
};

// "unbalanced parenthesis: the "(" opened on line 4 is never closed, so the COMMIT on line 5
// is read as part of the statement", with "probably" and the other suspect when unsure.
std::string describe(const SqlUnterminated& open);

// What split_sql found.
struct SplitSql {
  std::vector<SqlStatement> statements; // statements with at least one token, in order
  // The first psql meta-command (a backslash outside strings, identifiers and comments,
  // such as \i, \set, \connect, \copy): psql runs those, the server cannot.
  std::optional<std::size_t> meta_command_line;
  // An unterminated parenthesis, quote, dollar quote or comment at the end of the text.
  std::optional<SqlUnterminated> unterminated;
};

// Splits SQL into statements at top-level semicolons, the way psql does: semicolons in
// single-quoted strings (with '' doubled), E'' strings (with backslash escapes),
// double-quoted identifiers, dollar quotes with or without a tag ($1 is a parameter, and
// a $ inside an identifier such as a$b starts nothing), -- comments, nested /* */
// comments, and parentheses do not split; neither do those in the BEGIN ATOMIC ... END
// body of CREATE [OR REPLACE] FUNCTION/PROCEDURE (CASE ... END nests inside it). Pure.
SplitSql split_sql(std::string_view sql);

} // namespace migrate_init
