// A text log line is one physical line whatever its values hold (issue 14, item 9).
#include "log.hpp"
#include "text.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace migrate_init;

TEST_CASE("escape_control_characters writes line breaks and tabs as \\n, \\r and \\t") {
  CHECK(escape_control_characters("applying 001_a\nFORGED error: x.sql") == "applying 001_a\\nFORGED error: x.sql");
  CHECK(escape_control_characters("a\r\nb\tc") == "a\\r\\nb\\tc");
}

TEST_CASE("escape_control_characters writes ESC, the other C0 controls and DEL as \\xHH") {
  CHECK(escape_control_characters("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
  CHECK(escape_control_characters(std::string("nul\0here", 8)) == "nul\\x00here");
  CHECK(escape_control_characters("\x01\x07\x08\x0b\x0c\x1f\x7f") == "\\x01\\x07\\x08\\x0b\\x0c\\x1f\\x7f");
}

TEST_CASE("escape_control_characters writes the C1 controls U+0080 to U+009F as \\u00HH") {
  CHECK(escape_control_characters("a\xc2\x9b" "31mb") == "a\\u009b31mb"); // CSI
  CHECK(escape_control_characters("\xc2\x85 next line") == "\\u0085 next line");
  CHECK(escape_control_characters("\xc2\x80\xc2\x9f") == "\\u0080\\u009f");
}

TEST_CASE("escape_control_characters keeps printable text, other UTF-8 and backslashes as they are") {
  for (const std::string text : {"", "applied 3 migrations in 41 ms", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0nbsp",
                           "a psql meta-command (\\...) cannot run on the server", "C:\\path\\n (a backslash and an n)",
                           "\xe2\x80\xa8 line separator is printable in a terminal"}) {
    CAPTURE(text);
    CHECK(escape_control_characters(text) == text);
  }
}

TEST_CASE("escape_control_characters writes each byte that is not UTF-8 as \\xHH") {
  CHECK(escape_control_characters("caf\xe9.sql") == "caf\\xe9.sql");
  CHECK(escape_control_characters("\x9b") == "\\x9b");                 // a lone C1 byte (8-bit CSI)
  CHECK(escape_control_characters("\xc3") == "\\xc3");                 // cut short
  CHECK(escape_control_characters("\xc0\xaf") == "\\xc0\\xaf");        // overlong '/'
  CHECK(escape_control_characters("\xed\xa0\x80") == "\\xed\\xa0\\x80"); // a surrogate
  CHECK(escape_control_characters("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80"); // above U+10FFFF
}

TEST_CASE("text_log_message redacts first, then escapes: a secret holding a tab is still found") {
  KnownSecrets secrets;
  secrets.add("tab\there-pw");
  CHECK(text_log_message("password tab\there-pw\nFORGED", secrets) == "password ****\\nFORGED");
  CHECK(text_log_message("host=db password=a\\ b\x1b[2J", {}) == "host=db password=****");
  CHECK(text_log_message("\x1b]0;title\x07", {}) == "\\x1b]0;title\\x07");
}
