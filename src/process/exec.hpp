#pragma once

#include <string>
#include <vector>

namespace migrate_init {

// Replaces this process with `command` (searched in PATH when it has no '/'), keeping the
// environment, standard streams and arguments exactly as given. Returns only on failure,
// by throwing Error: 127 when not found, 126 when not executable.
[[noreturn]] void exec_command(const std::vector<std::string>& command);

// Throws the Error for a failed exec of `program` with errno `error`: 127 for a missing
// command or file, 126 for anything else (permission denied, not an executable).
[[noreturn]] void throw_exec_failure(const std::string& program, int error);

} // namespace migrate_init
