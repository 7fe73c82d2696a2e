#include "pipeline/status.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

using namespace migrate_init;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

StatusEntry entry(std::string version, std::string name, std::optional<std::string> applied_at, bool file_missing) {
  return StatusEntry{std::move(version), std::move(name), std::move(applied_at), file_missing, nullptr, false};
}

} // namespace

TEST_CASE("format_status prints only the header when there is nothing") {
  CHECK(format_status({}) == "VERSION  NAME  APPLIED\n");
}

TEST_CASE("format_status aligns the columns under the header") {
  const std::string table = format_status({
      entry("001", "initial_schema", "2024-01-01 10:00:00+00", false),
      entry("2", "users", std::nullopt, false),
      entry("20240101120000", "x", "2024-01-02 10:00:00+00", true),
  });
  CHECK(table.back() == '\n');
  const auto lines = lines_of(table);
  REQUIRE(lines.size() == 4);

  const std::size_t name_column = lines[0].find("NAME");
  const std::size_t applied_column = lines[0].find("APPLIED");
  CHECK(lines[0].rfind("VERSION", 0) == 0);
  // Two spaces after the widest version (14 digits) and after the widest name (14 characters).
  CHECK(name_column == 14 + 2);
  CHECK(applied_column == name_column + 14 + 2);

  CHECK(lines[1].rfind("001 ", 0) == 0);
  CHECK(lines[1].find("initial_schema") == name_column);
  CHECK(lines[1].find("2024-01-01 10:00:00+00") == applied_column);

  CHECK(lines[2].find("users") == name_column);
  CHECK(lines[2].substr(applied_column) == "pending");

  CHECK(lines[3].rfind("20240101120000  ", 0) == 0);
  CHECK(lines[3].find("x ") == name_column);
  CHECK(lines[3].substr(applied_column) == "2024-01-02 10:00:00+00 (no file here)");

  for (const auto& line : lines) {
    CAPTURE(line);
    CHECK(line.back() != ' '); // no trailing spaces
  }
}

TEST_CASE("format_status keeps the header widths as the minimum") {
  const auto lines = lines_of(format_status({entry("1", "a", std::nullopt, false)}));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "VERSION  NAME  APPLIED");
  CHECK(lines[1] == "1        a     pending");
}
