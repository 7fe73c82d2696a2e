#include "lock_key.hpp"

#include "pipeline/checksum.hpp"

#include <string>

namespace migrate_init {

std::int64_t derive_lock_key(std::string_view database, std::string_view schema, std::string_view table) {
  std::string material = "migrate-init";
  for (std::string_view part : {database, schema, table}) {
    material += '\0';
    material += part;
  }
  const auto digest = sha256(material);
  std::uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key = (key << 8) | digest[static_cast<std::size_t>(i)];
  return static_cast<std::int64_t>(key);
}

} // namespace migrate_init
