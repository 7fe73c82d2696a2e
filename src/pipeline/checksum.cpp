#include "pipeline/checksum.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace migrate_init {
namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

// Fetched once: with OpenSSL 3, EVP_sha256() makes every digest look the algorithm up
// again, which shows when a thousand files are hashed at each start.
const EVP_MD* sha256_algorithm() {
  static EVP_MD* const k_sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!k_sha256) throw std::runtime_error("SHA-256 is not available in libcrypto");
  return k_sha256;
}

[[noreturn]] void digest_failed() { throw std::runtime_error("SHA-256 failed in libcrypto"); }

std::string hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out(2 * size, '\0'); // written in place: `+=` a character at a time costs more than the digest
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = k_hex[bytes[i] >> 4];
    out[2 * i + 1] = k_hex[bytes[i] & 0x0f];
  }
  return out;
}

} // namespace

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, sha256_algorithm(), nullptr) != 1 ||
      length != digest.size()) {
    digest_failed();
  }
  return digest;
}

std::string sha256_hex(std::string_view data) {
  const auto digest = sha256(data);
  return hex(digest.data(), digest.size());
}

std::string canonical_migration_text(std::string_view file_contents) {
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
    if (file_contents.substr(0, k_bom.size()) == k_bom) file_contents.remove_prefix(k_bom.size());
    return sha256_hex(file_contents);
  }
  return sha256_hex(canonical_migration_text(file_contents));
}

struct MigrationHasher::Context {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Context() { EVP_MD_CTX_free(md); }
};

MigrationHasher::MigrationHasher() : m_context(std::make_unique<Context>()) {
  if (!m_context->md || EVP_DigestInit_ex(m_context->md, sha256_algorithm(), nullptr) != 1) digest_failed();
}

MigrationHasher::~MigrationHasher() = default;

void MigrationHasher::update(std::string_view piece) {
  if (!m_head_done && m_head.empty() && piece.size() >= k_bom.size()) {
    // The whole head in this piece (a file's first read): no copy, and one digest call.
    m_head_done = true;
    if (piece.starts_with(k_bom)) piece.remove_prefix(k_bom.size());
  } else if (!m_head_done) {
    const std::size_t take = std::min(piece.size(), k_bom.size() - m_head.size());
    m_head.append(piece.substr(0, take));
    piece.remove_prefix(take);
    if (m_head.size() < k_bom.size()) return;
    m_head_done = true;
    if (m_head != k_bom) canonical(m_head);
  }
  canonical(piece);
}

std::string MigrationHasher::finish() {
  if (!m_head_done) canonical(m_head); // shorter than a BOM: content
  if (m_cr_pending) digest("\r");      // a CR at the very end is not a line ending
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(m_context->md, digest, &length) != 1) digest_failed();
  return hex(digest, length);
}

void MigrationHasher::canonical(std::string_view text) {
  if (text.empty()) return;
  if (m_cr_pending) {
    m_cr_pending = false;
    if (text.front() != '\n') digest("\r");
  }
  std::size_t from = 0; // the start of what is not hashed yet
  for (std::size_t cr = text.find('\r'); cr != std::string_view::npos; cr = text.find('\r', cr + 1)) {
    if (cr + 1 == text.size()) {
      digest(text.substr(from, cr - from));
      m_cr_pending = true; // whether it ends a line depends on the next piece
      return;
    }
    if (text[cr + 1] == '\n') {
      digest(text.substr(from, cr - from));
      from = cr + 1;
    }
  }
  digest(text.substr(from));
}

void MigrationHasher::digest(std::string_view text) {
  if (!text.empty() && EVP_DigestUpdate(m_context->md, text.data(), text.size()) != 1) digest_failed();
}

} // namespace migrate_init
