// alembic.ini and pyproject.toml read as Alembic reads them: ConfigParser's rules for the
// ini, the [tool.alembic] table of the toml. (Finding a project on disk is tested with the
// graph it leads to, in alembic_graph_test.cpp.)
#include "command/alembic/alembic_config.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace migrate_init::alembic;

TEST_CASE("An INI section is read as ConfigParser reads it") {
  const IniSection s = parse_ini_section("[DEFAULT]\nshared = d\n[alembic]\n# a comment\nScript_Location = %(here)s/alembic\n"
                                         "version_locations = one\n  two\n; another\n[other]\nx = 1\n",
                                         "alembic");
  CHECK(s.found);
  CHECK(s.values.at("script_location") == "%(here)s/alembic");
  CHECK(s.values.at("version_locations") == "one\ntwo");
  CHECK(s.values.at("shared") == "d");
  CHECK_FALSE(s.values.contains("x"));
  CHECK(parse_ini_section("[alembic]\na = 1\na = 2\n", "alembic").problem.find("twice") != std::string::npos);
  CHECK_FALSE(parse_ini_section("[other]\n", "alembic").found);
}

TEST_CASE("pyproject.toml's [tool.alembic] strings, booleans and arrays of strings are read") {
  const IniSection s = parse_pyproject_alembic("[project]\nname = \"app\"\n[tool.alembic]\n"
                                               "script_location = \"%(here)s/db\"  # a comment\n"
                                               "version_locations = [\n  \"a\",  # first\n  'b',\n]\n"
                                               "recursive_version_locations = true\nretries = 3\n"
                                               "[tool.other]\nscript_location = \"x\"\n");
  CHECK(s.found);
  CHECK(s.problem.empty());
  CHECK(s.values.at("script_location") == "%(here)s/db");
  CHECK(s.values.at("version_locations") == "a\nb");
  CHECK(s.values.at("recursive_version_locations") == "true");
  CHECK_FALSE(s.values.contains("retries"));
  CHECK(parse_pyproject_alembic("[tool.alembic]\nscript_location = \"a\\\\b\"\n").problem.find("script_location") !=
        std::string::npos);
  CHECK_FALSE(parse_pyproject_alembic("[tool.other]\nscript_location = \"x\"\n").found);
}
