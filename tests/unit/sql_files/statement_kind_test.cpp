#include "sql_files/statement_kind.hpp"

#include "only_statement.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace migrate_init;
using test::only_statement;

TEST_CASE("concurrent_index finds the index and the table a concurrent build touches") {
  const auto named = concurrent_index(only_statement("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"Idx\" ON ONLY app.t (a)"));
  REQUIRE(named);
  CHECK(named->index == std::optional<std::string>("Idx"));
  CHECK(named->table == std::optional<std::string>("\"app\".\"t\""));

  const auto unnamed = concurrent_index(only_statement("create index concurrently on t (a)"));
  REQUIRE(unnamed);
  CHECK_FALSE(unnamed->index);
  CHECK(unnamed->table == std::optional<std::string>("\"t\""));

  const auto reindex_index = concurrent_index(only_statement("REINDEX INDEX CONCURRENTLY app.i"));
  REQUIRE(reindex_index);
  CHECK(reindex_index->index == std::optional<std::string>("i"));

  const auto reindex_table = concurrent_index(only_statement("REINDEX (VERBOSE) TABLE CONCURRENTLY t"));
  REQUIRE(reindex_table);
  CHECK(reindex_table->table == std::optional<std::string>("\"t\""));

  CHECK_FALSE(concurrent_index(only_statement("CREATE INDEX i ON t (a)")));
  CHECK_FALSE(concurrent_index(only_statement("DROP INDEX CONCURRENTLY i")));
}

TEST_CASE("transaction_control tells a file's own BEGIN and COMMIT from what nests inside or ends apart") {
  CHECK(transaction_control(only_statement("BEGIN")) == TransactionControl::begin);
  CHECK(transaction_control(only_statement("start transaction isolation level serializable")) ==
        TransactionControl::begin);
  CHECK(transaction_control(only_statement("COMMIT")) == TransactionControl::commit);
  CHECK(transaction_control(only_statement("end")) == TransactionControl::commit);
  CHECK(transaction_control(only_statement("COMMIT AND CHAIN")) == TransactionControl::other);
  CHECK(transaction_control(only_statement("COMMIT PREPARED 'x'")) == TransactionControl::other);
  CHECK(transaction_control(only_statement("ROLLBACK")) == TransactionControl::other);
  CHECK(transaction_control(only_statement("ROLLBACK TO SAVEPOINT s")) == TransactionControl::none);
  CHECK(transaction_control(only_statement("SAVEPOINT s")) == TransactionControl::none);
  CHECK(transaction_control(only_statement("SELECT 'begin'")) == TransactionControl::none);
}

TEST_CASE("table_touch finds the table an INSERT or a CREATE TABLE names; copies_with_client finds COPY STDIN/STDOUT") {
  const auto insert = table_touch(only_statement("INSERT INTO public.Schema_Migrations (id) VALUES ('1') ON CONFLICT DO NOTHING"));
  REQUIRE(insert);
  CHECK_FALSE(insert->creates);
  CHECK(insert->table == "schema_migrations");
  CHECK(insert->on_conflict);
  const auto create = table_touch(only_statement("CREATE UNLOGGED TABLE IF NOT EXISTS \"Ledger\" (id text)"));
  REQUIRE(create);
  CHECK(create->creates);
  CHECK(create->table == "Ledger");
  CHECK_FALSE(table_touch(only_statement("CREATE INDEX i ON t (a)")));
  CHECK(copies_with_client(only_statement("COPY t FROM STDIN")));
  CHECK(copies_with_client(only_statement("copy (select 1) to stdout")));
  CHECK_FALSE(copies_with_client(only_statement("COPY t FROM '/srv/t.csv'")));
  CHECK(statement_keyword(only_statement("end")) == "END");
}
