#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace migrate_init {

// Sends every log line to stderr as `<UTC time> migrate-init <level>: <message>`, through a
// sink that redacts credentials (see redact.hpp), whatever code wrote the line.
void setup_logging(const std::string& level);

// Adds a value (a password, or a whole connection string) to hide verbatim in every line.
void add_log_secret(const std::string& secret);

// Flushes pending lines; call before exec, which would drop them.
void flush_logs();

} // namespace migrate_init
