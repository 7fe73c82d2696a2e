#include "lock_key.hpp"

#include "pipeline/checksum.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>

using namespace migrate_init;

TEST_CASE("derive_lock_key is deterministic") {
  CHECK(derive_lock_key("app", "public", "schema_migrations") == derive_lock_key("app", "public", "schema_migrations"));
}

// The key must never change between releases: two versions of migrate-init migrating one
// database during a rolling deploy must take the same lock. Computed independently with
// Python: struct.unpack('>q', sha256(b"migrate-init\0app\0public\0schema_migrations")[:8]).
TEST_CASE("derive_lock_key follows the documented formula") {
  CHECK(derive_lock_key("app", "public", "schema_migrations") == -3489219468225832904LL);
  CHECK(derive_lock_key("", "", "") == -2698086213729907501LL);

  const std::string material = std::string("migrate-init\0db\0s\0t", 19);
  const auto digest = sha256(material);
  std::uint64_t big_endian = 0;
  for (int i = 0; i < 8; ++i) big_endian = (big_endian << 8) | digest[static_cast<std::size_t>(i)];
  CHECK(derive_lock_key("db", "s", "t") == static_cast<std::int64_t>(big_endian));
}

TEST_CASE("derive_lock_key differs when the database, schema or table differs") {
  const std::int64_t base = derive_lock_key("app", "public", "schema_migrations");
  CHECK(derive_lock_key("other", "public", "schema_migrations") != base);
  CHECK(derive_lock_key("app", "meta", "schema_migrations") != base);
  CHECK(derive_lock_key("app", "public", "ledger") != base);
  // The parts are ordered: swapping them gives another key.
  CHECK(derive_lock_key("public", "app", "schema_migrations") != base);
}

TEST_CASE("derive_lock_key separates the parts, so moving a character between them changes the key") {
  CHECK(derive_lock_key("ab", "c", "d") != derive_lock_key("a", "bc", "d"));
  CHECK(derive_lock_key("a", "bc", "d") != derive_lock_key("a", "b", "cd"));
  CHECK(derive_lock_key("abc", "", "d") != derive_lock_key("", "abc", "d"));
}

TEST_CASE("derive_lock_key gives distinct keys for many ledgers") {
  std::set<std::int64_t> keys;
  for (int i = 0; i < 200; ++i) keys.insert(derive_lock_key("app", "public", "ledger_" + std::to_string(i)));
  CHECK(keys.size() == 200);
}
