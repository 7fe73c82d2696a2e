#include "command_line.hpp"

#include "error.hpp"
#include "setting_values.hpp"
#include "settings_table.hpp"

#include <cstddef>

namespace migrate_init {
namespace {

bool is_boolean_word(const std::string& word) {
  try {
    parse_bool("", word);
    return true;
  } catch (const UsageError&) {
    return false;
  }
}

bool is_subcommand(const std::string& word) {
  return word == "run" || word == "migrate" || word == "status" || word == "plan" || word == "verify" ||
         word == "repair" || word == "rollback" || word == "check";
}

// Options that are not settings but take a separate value.
bool takes_value(std::string_view option) { return option == "to"; }

// Refuses an unknown option before Boost.Program_options sees it: its error messages
// substitute the option's name into a template, and a name that itself contains
// "%canonical_option%" makes that substitution loop forever (found by fuzzing).
void require_known_option(const std::string& word) {
  bool known = word == "-h" || word == "-V";
  if (word.rfind("--", 0) == 0) {
    const std::string name = word.substr(2, word.find('=') == std::string::npos ? std::string::npos : word.find('=') - 2);
    known = find_setting(name) || name == "help" || name == "version" || name == "json" || name == "to" ||
            name == "applied" || name == "retry" || name == "checksums";
  }
  if (!known) throw UsageError("unknown option " + quote_value(word) + " (see migrate-init --help)");
  // Boost's own words for `--wait=` are about where the value should have been.
  if (word.size() > 2 && word.back() == '=') {
    throw UsageError("option '" + word.substr(0, word.size() - 1) + "' has an empty value (see migrate-init --help)");
  }
}

} // namespace

// Options end at `--` or at the first word that is neither an option, an option's value
// nor a subcommand: like dumb-init, `migrate-init node server.js` needs no `--`.
SplitArgs split_args(const std::vector<std::string>& args) {
  SplitArgs split;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") {
      split.saw_separator = true;
      split.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      return split;
    }
    if (word.size() > 1 && word[0] == '-') {
      require_known_option(word);
      const bool takes_next = word.rfind("--", 0) == 0 && word.find('=') == std::string::npos;
      const SettingSpec* spec = takes_next ? find_setting(std::string_view(word).substr(2)) : nullptr;
      const bool has_next = i + 1 < args.size() && args[i + 1] != "--";
      if (spec && spec->is_boolean && has_next && is_boolean_word(args[i + 1])) {
        split.options.push_back(word + "=" + args[++i]); // `--fail-on-error false` means what it says
      } else {
        split.options.push_back(word);
        const bool needs_value = (spec && !spec->is_boolean) || (takes_next && takes_value(word.substr(2)));
        if (needs_value && has_next) split.options.push_back(args[++i]);
      }
      continue;
    }
    if (!split.subcommand && is_subcommand(word)) {
      split.subcommand = word;
      continue;
    }
    if (split.subcommand && *split.subcommand != "run") {
      split.positionals.push_back(word); // `repair 006 --retry`: options may follow
      continue;
    }
    split.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    return split;
  }
  return split;
}

Command command_for(const std::optional<std::string>& subcommand) {
  if (subcommand == "migrate") return Command::migrate;
  if (subcommand == "status") return Command::status;
  if (subcommand == "plan") return Command::plan;
  if (subcommand == "verify") return Command::verify;
  if (subcommand == "repair") return Command::repair;
  if (subcommand == "rollback") return Command::rollback;
  if (subcommand == "check") return Command::check;
  return Command::run;
}

} // namespace migrate_init
