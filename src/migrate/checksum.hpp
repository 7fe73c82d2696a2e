#pragma once

#include <array>
#include <cstdint>
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

} // namespace migrate_init
