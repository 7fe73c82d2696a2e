// What a command-mode lock holder tells the waiters it wakes (holder_note.hpp): a waiter
// trusts a note only when it says exactly this waiter's state, in this waiter's table.
#include "command/holder_note.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace migrate_init;

TEST_CASE("An Alembic note gives back the rows it was made with, for the same schema and version table only") {
  const std::string note = alembic_holder_note("public", "alembic_version", {"6f3d8b5a1e47", "9a0b"});
  const auto rows = alembic_rows_in_note(note, "public", "alembic_version");
  REQUIRE(rows.has_value());
  CHECK(*rows == std::vector<std::string>{"6f3d8b5a1e47", "9a0b"});
  CHECK_FALSE(alembic_rows_in_note(note, "public", "app.alembic_version").has_value());
  // Another tenant, or another service sharing AUTO_MIGRATE_LOCK_KEY in its own schema.
  CHECK_FALSE(alembic_rows_in_note(note, "tenant_b", "alembic_version").has_value());
  // A waiter that never read its table does not know where it is.
  CHECK_FALSE(alembic_rows_in_note(note, "", "alembic_version").has_value());
  // A fresh database that the migrator left empty is a state too: no rows.
  const auto none = alembic_rows_in_note(alembic_holder_note("public", "alembic_version", {}), "public", "alembic_version");
  REQUIRE(none.has_value());
  CHECK(none->empty());
}

TEST_CASE("Ids, schemas and table names that look like the note's own syntax stay what they are") {
  const std::string odd_table = "\"we\"\"ird\", \"x";
  const std::string odd_schema = "\"s\",\"alembic_version\"";
  const std::string note = alembic_holder_note(odd_schema, odd_table, {"a\",\"b", "c\\d"});
  const auto rows = alembic_rows_in_note(note, odd_schema, odd_table);
  REQUIRE(rows.has_value());
  CHECK(*rows == std::vector<std::string>{"a\",\"b", "c\\d"});
  CHECK_FALSE(alembic_rows_in_note(note, "s", "alembic_version").has_value());
}

TEST_CASE("A files note holds for the same run table's schema, target schema, command and files only") {
  const RecordPlace place{"ops", "tenant_a"};
  const std::string note = files_holder_note(place, "npx knex migrate:latest", "digest-1");
  CHECK(note_records_files(note, place, "npx knex migrate:latest", "digest-1"));
  CHECK_FALSE(note_records_files(note, place, "npx knex migrate:latest", "digest-2"));
  CHECK_FALSE(note_records_files(note, place, "npx knex migrate:up", "digest-1"));
  CHECK_FALSE(note_records_files(note, {"public", "tenant_a"}, "npx knex migrate:latest", "digest-1"));
  // Tenants that share one run table (a schema-qualified ledger): another tenant is not done.
  CHECK_FALSE(note_records_files(note, {"ops", "tenant_b"}, "npx knex migrate:latest", "digest-1"));
  CHECK_FALSE(note_records_files(note, {"", "tenant_a"}, "npx knex migrate:latest", "digest-1"));
  CHECK_FALSE(note_records_files(note, {"ops", ""}, "npx knex migrate:latest", "digest-1"));
  // The command is in it as a hash, not as text that could be long or secret.
  CHECK(note.find("knex") == std::string::npos);
}

TEST_CASE("A failure note is taken by a waiter whose migrator would run on the same schema, search_path, command and "
          "files only") {
  const MigratorTarget run{"tenant_a", "tenant_a", "alembic upgrade head", "digest-1"};
  const std::string note = failure_holder_note(run, {"exit 1", "4242@web-1"});
  CHECK(is_failure_note(note));
  const auto failure = failure_in_note(note, run);
  REQUIRE(failure.has_value());
  CHECK(failure->ending == "exit 1");
  CHECK(failure->holder == "4242@web-1");
  CHECK_FALSE(failure_in_note(note, {"tenant_b", "tenant_a", "alembic upgrade head", "digest-1"}).has_value());
  CHECK_FALSE(failure_in_note(note, {"tenant_a", "svc, public", "alembic upgrade head", "digest-1"}).has_value());
  CHECK_FALSE(failure_in_note(note, {"tenant_a", "tenant_a", "alembic upgrade heads", "digest-1"}).has_value());
  // Another image: its files may have the fix.
  CHECK_FALSE(failure_in_note(note, {"tenant_a", "tenant_a", "alembic upgrade head", "digest-2"}).has_value());
  CHECK(note.find("alembic upgrade") == std::string::npos);
  // A success is no failure, and a failure says nothing of success.
  CHECK_FALSE(is_failure_note(files_holder_note({"public", "public"}, "c", "d")));
  CHECK_FALSE(note_records_files(note, {"tenant_a", "tenant_a"}, "alembic upgrade head", "digest-1"));
}

TEST_CASE("No note, another kind of note, or text that is not a note says nothing") {
  for (const std::string& note : {std::string(), std::string("done"), std::string("[\"alembic\""),
                                  std::string("[\"alembic\",\"public\"]"), files_holder_note({"public", "public"}, "c", "d")}) {
    CAPTURE(note);
    CHECK_FALSE(alembic_rows_in_note(note, "public", "alembic_version").has_value());
    CHECK_FALSE(is_failure_note(note));
  }
  CHECK_FALSE(note_records_files(alembic_holder_note("public", "t", {"r"}), {"public", "public"}, "t", "r"));
  CHECK_FALSE(note_records_files("", {"public", "public"}, "c", "d"));
  CHECK_FALSE(note_records_files("{\"files\": 1}", {"public", "public"}, "c", "d"));
  CHECK_FALSE(failure_in_note("[\"failed\"]", {"public", "public", "c", "d"}).has_value());
}
