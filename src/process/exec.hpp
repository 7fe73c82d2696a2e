#pragma once

#include <string>
#include <vector>

namespace migrate_init {

// Replaces this process with `command` (searched in PATH when it has no '/'), keeping the
// environment, standard streams and arguments exactly as given. Returns only on failure,
// by throwing Error: 127 when not found, 126 when not executable.
[[noreturn]] void exec_command(const std::vector<std::string>& command);

} // namespace migrate_init
