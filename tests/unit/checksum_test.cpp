#include "migrate/checksum.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace migrate_init;

TEST_CASE("sha256_hex matches the published test vectors") {
  // FIPS 180-2 examples.
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256_hex hashes embedded NUL bytes instead of stopping at them") {
  const std::string with_nul("a\0b", 3);
  CHECK(sha256_hex(with_nul) != sha256_hex("a"));
  CHECK(sha256_hex(with_nul).size() == 64);
}

TEST_CASE("sha256 and sha256_hex agree") {
  const auto digest = sha256("abc");
  CHECK(digest[0] == 0xba);
  CHECK(digest[1] == 0x78);
  CHECK(digest[31] == 0xad);
}

TEST_CASE("canonical_migration_text removes a leading BOM and reads CRLF as LF") {
  CHECK(canonical_migration_text("\xEF\xBB\xBFSELECT 1;\r\nSELECT 2;\r\n") == "SELECT 1;\nSELECT 2;\n");
  // A lone CR is not a line ending here and is kept, as is a BOM that is not leading.
  CHECK(canonical_migration_text("a\rb") == "a\rb");
  CHECK(canonical_migration_text("a\r") == "a\r");
  CHECK(canonical_migration_text("x\xEF\xBB\xBFy") == "x\xEF\xBB\xBFy");
  // Only one BOM is a byte-order mark; a second one is content.
  CHECK(canonical_migration_text("\xEF\xBB\xBF\xEF\xBB\xBFx") == "\xEF\xBB\xBFx");
  CHECK(canonical_migration_text("") == "");
}

TEST_CASE("migration_checksum ignores line endings and a BOM but nothing else") {
  const std::string lf = "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n";
  const std::string crlf = "CREATE TABLE t (id int);\r\nINSERT INTO t VALUES (1);\r\n";
  const std::string bom_crlf = "\xEF\xBB\xBF" + crlf;

  // For an LF file without BOM it is the plain SHA-256 of the bytes, as `sha256sum` prints it.
  CHECK(migration_checksum(lf) == sha256_hex(lf));
  CHECK(migration_checksum(crlf) == migration_checksum(lf));
  CHECK(migration_checksum(bom_crlf) == migration_checksum(lf));
  CHECK(migration_checksum("\xEF\xBB\xBF" + lf) == migration_checksum(lf));

  SUBCASE("a changed value") {
    CHECK(migration_checksum("CREATE TABLE t (id int);\nINSERT INTO t VALUES (2);\n") != migration_checksum(lf));
  }
  SUBCASE("a trailing space") {
    CHECK(migration_checksum("CREATE TABLE t (id int); \nINSERT INTO t VALUES (1);\n") != migration_checksum(lf));
  }
  SUBCASE("a missing final newline") {
    CHECK(migration_checksum("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);") != migration_checksum(lf));
  }
  SUBCASE("a lone CR instead of LF") {
    CHECK(migration_checksum("CREATE TABLE t (id int);\rINSERT INTO t VALUES (1);\r") != migration_checksum(lf));
  }
  SUBCASE("a case change") {
    CHECK(migration_checksum("create TABLE t (id int);\nINSERT INTO t VALUES (1);\n") != migration_checksum(lf));
  }
}
