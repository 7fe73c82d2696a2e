#include "sql_files/migration_script.hpp"

#include "sql_files/statement_kind.hpp"

#include <cctype>
#include <sstream>

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

std::string location(std::string_view file_name, std::size_t line) {
  return std::string(file_name) + ":" + std::to_string(line);
}

// A statement the file's text has no use for in psql's absence, whatever the mode.
std::optional<std::string> copy_problem(std::string_view file_name, const SqlStatement& statement) {
  if (!copies_with_client(statement)) return std::nullopt;
  return location(file_name, statement.line) +
         ": COPY ... STDIN/STDOUT needs psql to send or read the data; use INSERT, or COPY from a file on the server";
}

// What no server can run, in either direction: unterminated text, psql meta-commands,
// COPY from the client.
std::vector<std::string> statement_problems(std::string_view file_name, const SplitSql& rest,
                                            const std::vector<std::string>& copy_problems) {
  std::vector<std::string> problems;
  if (rest.unterminated) {
    problems.push_back(location(file_name, rest.unterminated->line) + ": " + describe(*rest.unterminated));
  }
  if (rest.meta_command_line) {
    problems.push_back(location(file_name, *rest.meta_command_line) +
                       ": a psql meta-command (\\...) cannot run on the server; use plain SQL");
  }
  problems.insert(problems.end(), copy_problems.begin(), copy_problems.end());
  return problems;
}

// The file's own transaction blocks, as one statement after another is seen: balanced and
// not nested, they are dropped and the file runs whole in migrate-init's transaction.
struct BlockTracker {
  std::optional<std::size_t> open_line;              // the BEGIN of the block still open
  std::vector<std::pair<std::size_t, std::size_t>> drop; // [offset, end) in up.sql
  std::vector<std::size_t> lines;
  std::vector<std::string> problems;
  std::optional<std::pair<std::size_t, std::string>> no_transaction; // the first statement that needs none

  void see(std::string_view file_name, const SqlStatement& statement) {
    const std::string at = location(file_name, statement.line) + ": ";
    switch (transaction_control(statement)) {
    case TransactionControl::begin:
      if (open_line) {
        problems.push_back(at + "BEGIN inside the transaction block opened at line " + std::to_string(*open_line) +
                           " (PostgreSQL does not nest them): remove one, or put `-- migrate-init: no-transaction` "
                           "on the file's first line");
      }
      open_line = statement.line;
      break;
    case TransactionControl::commit:
      if (!open_line) {
        problems.push_back(at + statement_keyword(statement) +
                           " without a BEGIN before it: remove it (the file runs in one transaction with its "
                           "ledger row), or put `-- migrate-init: no-transaction` on the file's first line");
      }
      open_line.reset();
      break;
    case TransactionControl::other:
      problems.push_back(at + statement_keyword(statement) +
                         " inside a migration would end its transaction apart from its ledger row (a ROLLBACK "
                         "would record as applied what it undid): remove it, or put `-- migrate-init: "
                         "no-transaction` on the file's first line");
      return;
    case TransactionControl::none:
      if (!no_transaction) {
        if (auto reason = needs_no_transaction(statement)) no_transaction.emplace(statement.line, *reason);
      }
      return;
    }
    drop.emplace_back(statement.offset, statement.offset + statement.text.size());
    lines.push_back(statement.line);
  }

  void finish(std::string_view file_name) {
    if (open_line) {
      problems.push_back(location(file_name, *open_line) +
                         ": BEGIN with no COMMIT after it: add the COMMIT, or remove the BEGIN");
    }
  }
};

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
  BlockTracker blocks;
};

// Checks one statement and keeps what the mode needs of it (see MigrationScript). The
// file's own transaction statements are not kept: they are blanked out of what is sent.
void take_statement(std::string_view file_name, MigrationScript& script, UpSection& found, SqlStatement&& statement) {
  if (auto problem = copy_problem(file_name, statement)) found.copy_problems.push_back(std::move(*problem));
  if (auto touch = table_touch(statement)) script.table_touches.push_back(std::move(*touch));
  if (script.mode == TransactionMode::transaction) {
    const std::size_t dropped = found.blocks.drop.size();
    found.blocks.see(file_name, statement);
    if (found.blocks.drop.size() != dropped) return;
    std::string().swap(statement.text);
    std::vector<SqlToken> first_token{std::move(statement.tokens.front())};
    statement.tokens.swap(first_token);
  }
  script.up_statements.push_back(std::move(statement));
}

// Turns [begin, end) of `sql` into spaces, line breaks kept and each UTF-8 character one
// space: the server's error positions (in characters) and the lines of the rest of the
// file stay what they were. Returns how many bytes went.
std::size_t blank_out(std::string& sql, std::size_t begin, std::size_t end) {
  std::size_t kept = begin;
  for (std::size_t i = begin; i < end; ++i) {
    const auto c = static_cast<unsigned char>(sql[i]);
    if ((c & 0xC0) == 0x80) continue; // a UTF-8 continuation byte: its character is one space already
    sql[kept++] = c == '\n' ? '\n' : ' ';
  }
  sql.erase(kept, end - kept);
  return end - kept;
}

// psql's `\set ON_ERROR_STOP on` (or 1, true): what migrate-init always does, so harmless.
bool is_on_error_stop(std::string_view line) {
  std::string words;
  for (char c : line) words += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::istringstream in(words);
  std::string command, variable, value, extra;
  in >> command >> variable >> value >> extra;
  return command == "\\set" && variable == "on_error_stop" && (value == "on" || value == "1" || value == "true") &&
         extra.empty();
}

// Blanks every `\set ON_ERROR_STOP on` line that the splitter sees as a meta-command (not
// one inside a string or a dollar-quoted body); the first other meta-command stays, to be
// refused.
void drop_on_error_stop(ScriptSection& up) {
  if (up.sql.find("\\set") == std::string::npos && up.sql.find("\\SET") == std::string::npos) return;
  for (;;) {
    const SplitSql rest = split_sql_in_windows(up.sql, [](SqlStatement&&) {}, up.first_line);
    if (!rest.meta_command_line) return;
    std::size_t start = 0;
    for (std::size_t line = up.first_line; line < *rest.meta_command_line; ++line) start = up.sql.find('\n', start) + 1;
    const std::size_t end = std::min(up.sql.find('\n', start), up.sql.size());
    if (!is_on_error_stop(std::string_view(up.sql).substr(start, end - start))) return;
    blank_out(up.sql, start, end);
  }
}

void split_up_section(std::string_view file_name, MigrationScript& script) {
  drop_on_error_stop(script.up);
  const std::size_t problems_before = script.problems.size();
  UpSection found;
  const SplitSql rest = split_sql_in_windows(
      script.up.sql, [&](SqlStatement&& statement) { take_statement(file_name, script, found, std::move(statement)); },
      script.up.first_line);
  const auto problems = statement_problems(file_name, rest, found.copy_problems);
  script.problems.insert(script.problems.end(), problems.begin(), problems.end());
  if (script.mode != TransactionMode::transaction) return;
  BlockTracker& blocks = found.blocks;
  // What is left open swallowed the rest of the file, its COMMIT too: that is the problem.
  if (!rest.unterminated) blocks.finish(file_name);
  if (blocks.no_transaction) {
    const auto& [line, reason] = *blocks.no_transaction;
    if (blocks.lines.empty() && blocks.problems.empty()) {
      // Run as psql runs it: statement by statement, with the progress, resume and repair
      // of a marked no-transaction file.
      script.mode = TransactionMode::none;
      script.detected_no_transaction = reason + " at line " + std::to_string(line);
      script.up_statements.clear();
      script.table_touches.clear();
      script.problems.resize(problems_before);
      split_up_section(file_name, script);
      return;
    }
    script.problems.push_back(location(file_name, line) + ": " + reason +
                              " cannot run inside a transaction block, and this file has transaction blocks of its "
                              "own (BEGIN at line " + std::to_string(blocks.lines.empty() ? line : blocks.lines.front()) +
                              "): move it to a file of its own, which then runs outside a transaction");
  }
  script.problems.insert(script.problems.end(), blocks.problems.begin(), blocks.problems.end());
  // Last to first, so each range's offsets still hold; the kept statements after a range
  // move back by what it lost.
  for (auto range = blocks.drop.rbegin(); range != blocks.drop.rend(); ++range) {
    const std::size_t removed = blank_out(script.up.sql, range->first, range->second);
    for (auto& statement : script.up_statements) {
      if (statement.offset > range->first) statement.offset -= removed;
    }
  }
  script.own_transaction_lines = std::move(blocks.lines);
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

void shift_lines(SqlUnterminated& open, std::size_t lines) {
  open.line += lines;
  if (open.other_line) *open.other_line += lines;
  if (!open.swallowed_word.empty()) open.swallowed_line += lines;
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
      rest.unterminated = std::move(piece.unterminated);
      if (rest.unterminated) shift_lines(*rest.unterminated, base_line - 1);
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
