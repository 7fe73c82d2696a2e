#pragma once

#include <string>

namespace migrate_init {

// This machine's (or container's) host name; "unknown-host" if it cannot be read.
std::string host_name();

} // namespace migrate_init
