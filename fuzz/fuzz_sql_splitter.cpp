// Fuzzes split_sql and parse_migration_script with arbitrary bytes as a migration file.
//
// Invariants (a broken one traps, which libFuzzer reports as a crash):
//   split_sql
//     - every statement's text is the source at its offset: sql.substr(offset, text.size())
//     - offsets strictly increase, and statements do not overlap
//     - line is 1 + the number of '\n' before offset
//     - text is non-empty, with no leading or trailing whitespace
//     - every statement has at least one token; the first starts on the statement's line,
//       and token lines never decrease and never pass the line where the text ends
//     - an unterminated opener names a line of the text, and describe() says something
//   parse_migration_script
//     - every up statement's text occurs in the file starting on the statement's line
//     - the up and down sections are pieces of the file starting on their first_line
//       (the up section only when no BEGIN/COMMIT statement was blanked out of it)
//     - the up section as sent splits into exactly the statements kept

#include "sql_files/migration_script.hpp"
#include "sql_files/sql_splitter.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using migrate_init::SqlStatement;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// The whitespace of PostgreSQL's scanner, which split_sql trims.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::size_t newlines(std::string_view text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The byte offset where 1-based `line` starts; npos when the text has fewer lines.
std::size_t line_start(std::string_view text, std::size_t line) {
  std::size_t offset = 0;
  for (std::size_t l = 1; l < line; ++l) {
    offset = text.find('\n', offset);
    if (offset == std::string_view::npos) return offset;
    ++offset;
  }
  return offset;
}

// `piece` occurs in `text` starting somewhere on 1-based `line`.
bool occurs_on_line(std::string_view text, std::string_view piece, std::size_t line) {
  const std::size_t start = line_start(text, line);
  if (start == std::string_view::npos) return false;
  const std::size_t found = text.find(piece, start);
  if (found == std::string_view::npos) return false;
  // The first match at or after the line's start: if the piece starts on that line, this
  // match starts there too or earlier, so on that line.
  return text.substr(start, found - start).find('\n') == std::string_view::npos;
}

void check_split(std::string_view sql) {
  const auto split = migrate_init::split_sql(sql);
  const std::size_t total_lines = 1 + newlines(sql);
  std::size_t previous_offset = 0;
  std::size_t previous_end = 0;
  bool first = true;
  for (const SqlStatement& statement : split.statements) {
    check(!statement.text.empty());
    check(statement.offset <= sql.size() && statement.text.size() <= sql.size() - statement.offset);
    check(sql.substr(statement.offset, statement.text.size()) == statement.text);
    check(first || (statement.offset > previous_offset && statement.offset >= previous_end));
    first = false;
    previous_offset = statement.offset;
    previous_end = statement.offset + statement.text.size();
    check(statement.line == 1 + newlines(sql.substr(0, statement.offset)));
    check(!is_space(statement.text.front()) && !is_space(statement.text.back()));

    check(!statement.tokens.empty());
    check(statement.tokens.front().line == statement.line);
    const std::size_t last_line = statement.line + newlines(statement.text);
    std::size_t token_line = statement.line;
    for (const auto& token : statement.tokens) {
      check(token.line >= token_line && token.line <= last_line);
      token_line = token.line;
    }

    // Exercised for crashes only: any answer is fine.
    (void)migrate_init::needs_no_transaction(statement);
    (void)migrate_init::concurrent_index(statement);
  }
  if (split.unterminated) {
    const auto& open = *split.unterminated;
    check(open.line >= 1 && open.line <= total_lines);
    check(!open.opener.empty());
    if (open.other_line) check(*open.other_line >= 1 && *open.other_line <= total_lines);
    if (!open.swallowed_word.empty()) check(open.swallowed_line >= open.line && open.swallowed_line <= total_lines);
    check(!migrate_init::describe(open).empty());
  }
  if (split.meta_command_line) check(*split.meta_command_line >= 1 && *split.meta_command_line <= total_lines);
}

void check_script(std::string_view text) {
  const auto script = migrate_init::parse_migration_script("fuzz.sql", text);
  const std::size_t total_lines = 1 + newlines(text);
  // Dropped BEGIN/COMMIT statements (and \set ON_ERROR_STOP lines) are blanked in place:
  // otherwise the up section and its statements are pieces of the file.
  const bool blanked = !script.own_transaction_lines.empty() || text.find('\\') != std::string_view::npos;
  for (const SqlStatement& statement : script.up_statements) {
    check(statement.line >= 1 && statement.line <= total_lines);
    if (!blanked) check(occurs_on_line(text, statement.text, statement.line));
    if (blanked) check(script.up.sql.find(statement.text) != std::string::npos);
    check(!statement.tokens.empty() && statement.tokens.front().line == statement.line);
  }
  if (!blanked && !script.up.sql.empty()) check(occurs_on_line(text, script.up.sql, script.up.first_line));
  for (std::size_t line : script.own_transaction_lines) check(line >= 1 && line <= total_lines);
  // What the server is sent splits into exactly the statements kept: a failing statement
  // is found by the count of those the server completed before it.
  if (script.problems.empty()) check(migrate_init::split_sql(script.up.sql).statements.size() == script.up_statements.size());
  if (script.down && !script.down->sql.empty()) check(occurs_on_line(text, script.down->sql, script.down->first_line));
  for (const auto& problem : script.problems) check(problem.rfind("fuzz.sql:", 0) == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  check_split(input);
  check_script(input);
  return 0;
}
