#pragma once

#include "config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace migrate_init {

// The invocation split into its three parts: options, an optional subcommand, and the
// service command, which is kept exactly as given.
struct SplitArgs {
  std::vector<std::string> options;
  std::optional<std::string> subcommand;
  std::vector<std::string> command;
  std::vector<std::string> positionals; // words after a subcommand other than run
  bool saw_separator = false;
};

// Options end at `--` or at the first word that is neither an option, an option's value
// nor a subcommand (`migrate-init node server.js` needs no `--`). Refuses an unknown option
// with a usage error naming it. Pure.
SplitArgs split_args(const std::vector<std::string>& args);

// The subcommand's Command; run when there is none.
Command command_for(const std::optional<std::string>& subcommand);

} // namespace migrate_init
