#include "text.hpp"

#include <doctest/doctest.h>

using namespace migrate_init;

TEST_CASE("lowercase lowers ASCII letters and leaves the rest") {
  CHECK(lowercase("README.Md") == "readme.md");
  CHECK(lowercase("Caf\xC3\x89 42") == "caf\xC3\x89 42");
}

TEST_CASE("one_line joins libpq's multi-line messages into one log line") {
  CHECK(one_line("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running "
                 "on that host and accepting TCP/IP connections?\n") ==
        "connection to server at \"127.0.0.1\", port 1 failed: Connection refused Is the server running on that host "
        "and accepting TCP/IP connections?");
  CHECK(one_line("a\n\nb") == "a b");
  CHECK(one_line("already one line") == "already one line");
  CHECK(one_line("trailing  \n") == "trailing");
}

TEST_CASE("is_valid_utf8 follows the Unicode standard's table of well-formed sequences") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ASCII, with a tab\t"));
  CHECK(is_valid_utf8("\xc2\x80\xdf\xbf"));                 // U+0080, U+07FF
  CHECK(is_valid_utf8("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80")); // U+0800, U+D7FF, U+E000
  CHECK(is_valid_utf8("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));  // U+10000, U+10FFFF
  for (const char* bad : {"\xc1\xbf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf",
                          "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc2", "\xe0\xa0", "\xf0\x90\x80", "\xc2\x41",
                          "\xbf", "\xfe", "\xff"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_utf8(bad));
  }
}

TEST_CASE("printable escapes bytes that are not UTF-8 and control characters, and keeps the rest") {
  CHECK(printable("002_café.sql") == "002_café.sql");
  CHECK(printable("002_caf\xe9.sql") == "002_caf\\xe9.sql");
  CHECK(printable("a\nb\x1b[31m\x7f") == "a\\x0ab\\x1b[31m\\x7f");
  CHECK(printable("\xc2\x9b" "c1") == "\\xc2\\x9bc1"); // C1 CSI, which terminals obey
  CHECK(printable("\xe2\x82") == "\\xe2\\x82");
  CHECK(printable("") == "");
}
