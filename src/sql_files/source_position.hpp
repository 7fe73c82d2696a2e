#pragma once

#include <cstddef>
#include <string_view>

namespace migrate_init {

// The 1-based line of a 1-based character position in UTF-8 text, as PostgreSQL reports
// an error's position (in characters, not bytes). Positions past the end give the last line.
std::size_t line_of_character_position(std::string_view text, std::size_t position);

} // namespace migrate_init
