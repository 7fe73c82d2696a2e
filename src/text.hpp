#pragma once

#include <string>
#include <string_view>

namespace migrate_init {

// ASCII lower case.
std::string lowercase(std::string_view text);

// Multi-line text (libpq's messages, server DETAILs) as one log line: each line break and
// the indentation after it become one space; trailing space is dropped.
std::string one_line(std::string_view text);

// "1 attempt", "2 attempts": a count with its noun, in the plural unless the count is 1.
std::string counted(long long count, std::string_view singular, std::string_view plural);

} // namespace migrate_init
