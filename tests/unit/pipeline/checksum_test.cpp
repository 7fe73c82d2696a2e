#include "pipeline/checksum.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

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

namespace {

// The checksum of `text` fed to MigrationHasher in pieces cut at `cuts` (increasing offsets).
std::string hashed_in_pieces(const std::string& text, const std::vector<std::size_t>& cuts) {
  MigrationHasher hasher;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    hasher.update(std::string_view(text).substr(from, cut - from));
    from = cut;
  }
  hasher.update(std::string_view(text).substr(from));
  return hasher.finish();
}

// The whole-string definition the ledger's checksums were made with.
std::string reference(const std::string& text) { return sha256_hex(canonical_migration_text(text)); }

} // namespace

TEST_CASE("MigrationHasher gives migration_checksum's value for every text cut at every place") {
  // Every string of up to 5 bytes over the bytes that matter (CR, LF, a BOM's three bytes)
  // and one that does not, fed in every possible set of pieces, empty pieces included.
  const std::string alphabet = "\r\n\xEF\xBB\xBF" "a";
  std::vector<std::string> texts{""};
  for (std::size_t length = 1; length <= 5; ++length) {
    std::vector<std::string> longer;
    for (const auto& text : texts) {
      if (text.size() + 1 != length) continue;
      for (char c : alphabet) longer.push_back(text + c);
    }
    texts.insert(texts.end(), longer.begin(), longer.end());
  }
  std::size_t checked = 0;
  for (const auto& text : texts) {
    const std::string expected = reference(text);
    REQUIRE(migration_checksum(text) == expected);
    for (unsigned mask = 0; mask < (1u << (text.size() + 1)); ++mask) {
      std::vector<std::size_t> cuts;
      for (std::size_t at = 0; at <= text.size(); ++at) {
        if (mask & (1u << at)) cuts.push_back(at);
      }
      CAPTURE(text);
      CAPTURE(mask);
      REQUIRE(hashed_in_pieces(text, cuts) == expected);
      ++checked;
    }
  }
  CHECK(checked > 100000);
}

TEST_CASE("MigrationHasher keeps a CR at a piece's end until the next piece says whether it ends a line") {
  CHECK(hashed_in_pieces("SELECT 1;\r\nSELECT 2;\r\n", {10}) == migration_checksum("SELECT 1;\nSELECT 2;\n"));
  CHECK(hashed_in_pieces("a\r", {2}) == migration_checksum("a\r"));      // the CR ends the file: kept
  CHECK(hashed_in_pieces("a\rb", {2}) == migration_checksum("a\rb"));    // a lone CR: kept
  CHECK(hashed_in_pieces("a\r\r\n", {2, 3}) == sha256_hex("a\r\n")); // a lone CR, then a CRLF
  CHECK(hashed_in_pieces("\xEF\xBB\xBFx\r\n", {1, 2, 4}) == migration_checksum("x\n")); // a BOM in three pieces
  CHECK(hashed_in_pieces("\xEF\xBB", {1}) == sha256_hex("\xEF\xBB"));   // half a BOM is content
}

TEST_CASE("MigrationHasher agrees with migration_checksum on big random texts in random pieces") {
  std::uint32_t state = 12345;
  const auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int round = 0; round < 20; ++round) {
    std::string text = round % 2 ? "\xEF\xBB\xBF" : "";
    const std::size_t size = 1 + next() % 300000;
    for (std::size_t i = 0; i < size; ++i) {
      const std::uint32_t r = next() >> 24;
      text += r < 20 ? '\r' : r < 40 ? '\n' : static_cast<char>('a' + r % 26);
    }
    std::vector<std::size_t> cuts;
    for (std::size_t at = next() % 70000; at < text.size(); at += 1 + next() % 70000) cuts.push_back(at);
    // Every CR also at the end of a piece, once.
    if (round == 0) {
      cuts.clear();
      for (std::size_t at = text.find('\r'); at != std::string::npos; at = text.find('\r', at + 1)) cuts.push_back(at + 1);
    }
    CAPTURE(round);
    CHECK(hashed_in_pieces(text, cuts) == reference(text));
    CHECK(hashed_in_pieces(text, cuts) == migration_checksum(text));
  }
}
