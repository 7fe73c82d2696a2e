#pragma once

#include "config.hpp"

#include <map>
#include <optional>
#include <string>

namespace test {

// An environment for parse_config made of exactly these variables, so that the
// developer's own shell (DATABASE_URL, AUTO_MIGRATE_*) never leaks into a test.
inline migrate_init::EnvLookup env_from(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

} // namespace test
