#include "migrate/checksum.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace migrate_init {

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  // Fetched once: with OpenSSL 3, EVP_sha256() makes every digest look the algorithm up
  // again, which shows when a thousand files are hashed at each start.
  static EVP_MD* const k_sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (!k_sha256 || EVP_Digest(data.data(), data.size(), digest.data(), &length, k_sha256, nullptr) != 1 ||
      length != digest.size()) {
    throw std::runtime_error("SHA-256 failed in libcrypto");
  }
  return digest;
}

std::string sha256_hex(std::string_view data) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint8_t byte : sha256(data)) {
    out += k_hex[byte >> 4];
    out += k_hex[byte & 0x0f];
  }
  return out;
}

std::string canonical_migration_text(std::string_view file_contents) {
  constexpr std::string_view k_bom = "\xEF\xBB\xBF";
  if (file_contents.substr(0, k_bom.size()) == k_bom) file_contents.remove_prefix(k_bom.size());
  std::string out;
  out.reserve(file_contents.size());
  for (std::size_t i = 0; i < file_contents.size(); ++i) {
    if (file_contents[i] == '\r' && i + 1 < file_contents.size() && file_contents[i + 1] == '\n') continue;
    out += file_contents[i];
  }
  return out;
}

std::string migration_checksum(std::string_view file_contents) {
  // Most files have no CR: hash them as they are (without a BOM), without a copy.
  if (file_contents.find('\r') == std::string_view::npos) {
    constexpr std::string_view k_bom = "\xEF\xBB\xBF";
    if (file_contents.substr(0, k_bom.size()) == k_bom) file_contents.remove_prefix(k_bom.size());
    return sha256_hex(file_contents);
  }
  return sha256_hex(canonical_migration_text(file_contents));
}

} // namespace migrate_init
