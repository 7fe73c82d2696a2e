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
