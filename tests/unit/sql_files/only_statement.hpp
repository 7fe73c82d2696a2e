#pragma once
// The one statement `sql` splits into (the test fails unless there is exactly one).
#include "sql_files/sql_splitter.hpp"

#include <doctest/doctest.h>

#include <string>

namespace test {

inline migrate_init::SqlStatement only_statement(const std::string& sql) {
  const migrate_init::SplitSql split = migrate_init::split_sql(sql);
  REQUIRE(split.statements.size() == 1);
  return split.statements[0];
}

} // namespace test
