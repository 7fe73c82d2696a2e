#include "sql_files/source_position.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace migrate_init;

TEST_CASE("line_of_character_position puts the first character on line 1") {
  CHECK(line_of_character_position("SELECT 1;", 1) == 1);
  CHECK(line_of_character_position("SELECT 1;", 9) == 1);
  CHECK(line_of_character_position("", 1) == 1);
}

TEST_CASE("line_of_character_position counts the lines before the position") {
  // Line 1 is characters 1-17 (16 + LF), line 2 is 18-26, line 3 is 27-29, line 4 starts at 30.
  const std::string sql = "CREATE TABLE t (\n  id int\n);\nSELEC 1;\n";
  CHECK(line_of_character_position(sql, 16) == 1); // '('
  CHECK(line_of_character_position(sql, 17) == 1); // the newline ends line 1
  CHECK(line_of_character_position(sql, 18) == 2); // first character of line 2
  CHECK(line_of_character_position(sql, 26) == 2); // the newline ending line 2
  CHECK(line_of_character_position(sql, 27) == 3); // ')'
  CHECK(line_of_character_position(sql, 30) == 4); // 'S' of SELEC
}

TEST_CASE("line_of_character_position counts a multi-byte UTF-8 character as one") {
  // "é" is two bytes; counting bytes would put position 3 on the newline, still line 1.
  const std::string text = "\xC3\xA9\nx";
  CHECK(line_of_character_position(text, 1) == 1);
  CHECK(line_of_character_position(text, 2) == 1);
  CHECK(line_of_character_position(text, 3) == 2);

  // Three- and four-byte characters too: "€€\n😀\nx" has x at character 7.
  const std::string wide = "\xE2\x82\xAC\xE2\x82\xAC\n\xF0\x9F\x98\x80\nx";
  CHECK(line_of_character_position(wide, 4) == 2);
  CHECK(line_of_character_position(wide, 5) == 2);
  CHECK(line_of_character_position(wide, 6) == 3);
  CHECK(line_of_character_position(wide, 7) == 3);
}

TEST_CASE("line_of_character_position gives the last line for a position past the end") {
  CHECK(line_of_character_position("a\nb\nc", 100) == 3);
  CHECK(line_of_character_position("a\nb\nc", 6) == 3);
}

TEST_CASE("line_of_character_position reads CRLF text as one line break per CRLF") {
  const std::string text = "a\r\nb\r\nc";
  CHECK(line_of_character_position(text, 1) == 1);
  CHECK(line_of_character_position(text, 3) == 1); // the LF of the first CRLF
  CHECK(line_of_character_position(text, 4) == 2); // 'b'
  CHECK(line_of_character_position(text, 7) == 3); // 'c'
}
