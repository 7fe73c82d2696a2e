#pragma once

#include <span>
#include <string>
#include <string_view>

namespace migrate_init {

// One row per setting: the single source for parsing (config.cpp), --help (help_text) and
// the settings table in docs/reference.md (tests/unit/config_test.cpp holds that table to it).
struct SettingSpec {
  const char* flag;    // long option name, without "--"
  const char* env;     // environment variable
  const char* default_text;
  const char* meaning;
  bool is_boolean;     // a bare --flag means true
};

// Every setting, in the order --help and docs/reference.md list them.
std::span<const SettingSpec> settings_table();

// The setting whose flag (without "--") is `flag`, or nullptr.
const SettingSpec* find_setting(std::string_view flag);

// The --help text: usage, commands, every setting with its flag, variable and default, the
// other options and the exit codes.
std::string help_text();

} // namespace migrate_init
