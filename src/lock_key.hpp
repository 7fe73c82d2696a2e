#pragma once

#include <cstdint>
#include <string_view>

namespace migrate_init {

// The default advisory lock key: the first 8 bytes, big-endian, of
// SHA-256("migrate-init\0" + database + "\0" + schema + "\0" + table), as a signed bigint.
// Stable across versions and machines; two ledgers in one database get two keys.
std::int64_t derive_lock_key(std::string_view database, std::string_view schema, std::string_view table);

} // namespace migrate_init
