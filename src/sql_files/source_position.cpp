#include "sql_files/source_position.hpp"

namespace migrate_init {

std::size_t line_of_character_position(std::string_view text, std::size_t position) {
  std::size_t line = 1;
  std::size_t characters = 0;
  for (char byte : text) {
    const bool continuation = (static_cast<unsigned char>(byte) & 0xC0) == 0x80;
    if (continuation) continue;
    if (++characters >= position) break;
    if (byte == '\n') ++line;
  }
  return line;
}

} // namespace migrate_init
