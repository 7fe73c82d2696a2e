#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace migrate_init {

// SHA-256 of `data` (OpenSSL's libcrypto, which libpq loads anyway).
std::array<std::uint8_t, 32> sha256(std::string_view data);

// Lower-case hex of SHA-256.
std::string sha256_hex(std::string_view data);

// The text a migration's checksum covers: a leading UTF-8 byte-order mark removed and
// CRLF line endings read as LF, so an editor's re-save is not a change.
std::string canonical_migration_text(std::string_view file_contents);

// The ledger's checksum of a migration file: sha256_hex of its canonical text.
std::string migration_checksum(std::string_view file_contents);

// migration_checksum() of a file fed a piece at a time, so that a big file is hashed as it
// is read, without being held: the same value wherever the pieces are cut (a BOM split
// over pieces, a CR ending one piece and the LF starting the next).
class MigrationHasher {
public:
  MigrationHasher();
  ~MigrationHasher();
  MigrationHasher(const MigrationHasher&) = delete;
  MigrationHasher& operator=(const MigrationHasher&) = delete;

  void update(std::string_view piece);
  // The checksum of everything fed; the hasher is spent afterwards.
  std::string finish();

private:
  void canonical(std::string_view text); // CRLF as LF, a CR held back at a piece's end
  void digest(std::string_view text);

  struct Context;
  std::unique_ptr<Context> m_context;
  std::string m_head;        // the first bytes, until it is known whether they are a BOM
  bool m_head_done = false;
  bool m_cr_pending = false; // the last byte fed was a CR, not yet hashed
};

} // namespace migrate_init
