#pragma once

#include <string>
#include <vector>

namespace migrate_init {

// The whole program: settings, logging, migrate, then run the service. `args` is argv
// without argv[0]. Returns the exit code; on success in run mode it does not return,
// the service replaces this process.
int run(const std::vector<std::string>& args);

} // namespace migrate_init
