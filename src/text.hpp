#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// ASCII lower case.
std::string lowercase(std::string_view text);

// Multi-line text (libpq's messages, server DETAILs) as one log line: each line break and
// the indentation after it become one space; trailing space is dropped.
std::string one_line(std::string_view text);

// Text as one printable physical line, for the text log: C0 control characters (line
// breaks and ESC included), DEL and the C1 controls U+0080 to U+009F are written as
// escapes (\n, \r, \t, \x1b, \x7f, \u0085), and so is each byte that is not part of
// valid UTF-8 (\xff). Anything else, backslashes included, is kept as it is. Pure.
std::string escape_control_characters(std::string_view text);

// "1 attempt", "2 attempts": a count with its noun, in the plural unless the count is 1.
std::string counted(long long count, std::string_view singular, std::string_view plural);

// The whitespace-separated words of every argument, in order: an argv's words, and those of
// a shell command given as one string (no quoting understood: for recognising a tool's
// name and options, not for running anything). Pure.
std::vector<std::string> command_words(const std::vector<std::string>& arguments);

// Each %XX replaced by its byte; a '%' that starts no valid escape is kept, as libpq
// keeps it. With `plus_is_space`, '+' is a space (a SQLAlchemy URL's query). Pure.
std::string percent_decoded(std::string_view text, bool plus_is_space = false);

// The items with `separator` between them: "a, b, c".
std::string joined(const std::vector<std::string>& items, std::string_view separator = ", ");

// Whether `text` is well-formed UTF-8, as PostgreSQL checks it: no overlong forms, no
// surrogates, nothing above U+10FFFF, no sequence cut short.
bool is_valid_utf8(std::string_view text);

// `bytes` for a one-line message: every byte that is not part of well-formed UTF-8, and
// every control character (C0, DEL, C1), as \xHH; everything else as it is.
std::string printable(std::string_view bytes);

} // namespace migrate_init
