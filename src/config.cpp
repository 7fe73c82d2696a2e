#include "config.hpp"

#include "error.hpp"
#include "json.hpp"
#include "sql_files/migration_file.hpp"
#include "command_line.hpp"
#include "setting_values.hpp"
#include "settings_table.hpp"
#include "text.hpp"

#include <boost/program_options.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <cstdlib>
#include <stdexcept>

namespace po = boost::program_options;

namespace migrate_init {
namespace {

po::options_description option_descriptions() {
  po::options_description options("Options (each also read from its environment variable; flags win)");
  options.add_options()("help,h", "print this help and exit")("version,V", "print the version and exit")(
      "json", "status, plan, verify, check: print JSON instead of a table")(
      "to", po::value<std::string>()->value_name("VERSION"), "rollback: undo every migration after VERSION")(
      "applied", "repair: mark the unfinished migration applied (you finished it by hand)")(
      "retry", "repair: resume the unfinished migration at its failed statement")(
      "checksums", "repair: record the files' checksums in applied ledger rows that have none");
  for (const auto& spec : settings_table()) {
    const std::string text = std::string(spec.meaning) + "\n  env " + spec.env + ", default " + spec.default_text;
    if (spec.is_boolean) {
      options.add_options()(spec.flag, po::value<std::string>()->value_name("BOOL")->implicit_value("true"),
                            text.c_str());
    } else {
      options.add_options()(spec.flag, po::value<std::string>()->value_name("VALUE"), text.c_str());
    }
  }
  return options;
}

// The raw text of one setting and where it came from; nullopt leaves the default.
struct RawSetting {
  std::string text;
  std::string source;
};

// Connection URLs may come from a file instead (Docker and Kubernetes secrets).
bool has_file_twin(const SettingSpec& spec) {
  const std::string_view flag = spec.flag;
  return flag == "database-url" || flag == "migrate-database-url";
}

std::optional<RawSetting> raw_setting(const SettingSpec& spec, const po::variables_map& flags, const EnvLookup& env,
                                      const SecretFileReader& read_file) {
  if (flags.count(spec.flag)) return RawSetting{flags[spec.flag].as<std::string>(), std::string("--") + spec.flag};
  // An empty variable (`AUTO_MIGRATE=` in a compose file) counts as unset.
  const auto value = env(spec.env);
  const bool set = value && !value->empty();
  if (has_file_twin(spec)) {
    const std::string file_variable = std::string(spec.env) + "_FILE";
    if (const auto path = env(file_variable); path && !path->empty()) {
      if (set) throw UsageError(std::string("set ") + spec.env + " or " + file_variable + ", not both");
      const std::string source = file_variable + " (" + printable(*path) + ")";
      return RawSetting{read_file(*path, source), source};
    }
  }
  if (set) return RawSetting{*value, spec.env};
  return std::nullopt;
}

// Every setting's value reaches SQL (the command is recorded in migrate_init_runs; names,
// queries and the URL's parts go to the server) or at least a log line, and the server and
// JSON take UTF-8 only: refused here, naming the setting, not by the server with "invalid
// multibyte character" and exit 1. A URL may hold a password: it is never shown.
void require_utf8(const SettingSpec& spec, const RawSetting& raw) {
  if (is_valid_utf8(raw.text)) return;
  if (has_file_twin(spec)) throw UsageError(raw.source + " is not UTF-8 (not shown: it may hold a password)");
  throw UsageError(raw.source + ": " + quote_value(raw.text) + " is not UTF-8");
}

// "a, b,c" -> {"a", "b", "c"}; empty items are an error naming the setting.
std::vector<std::string> parse_list(const RawSetting& raw) {
  std::vector<std::string> items;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = raw.text.find(',', start);
    std::string item = raw.text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) throw UsageError(raw.source + ": " + quote_value(raw.text) + " has an empty item");
    items.push_back(std::move(item));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// A migration version: digits, as in file names.
std::string parse_version(std::string_view source, const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    throw UsageError(std::string(source) + ": " + quote_value(text) + " is not a migration version (digits, e.g. 003)");
  }
  return text;
}

int parse_count(std::string_view source, const std::string& text) {
  const auto refuse = [&] {
    return UsageError(std::string(source) + ": " + quote_value(text) + " is not a number of attempts from 1 to 1000");
  };
  std::int64_t value = 0;
  try {
    value = parse_int64(source, text);
  } catch (const UsageError&) {
    throw refuse(); // "not a 64-bit integer" would be true, and no help
  }
  if (value < 1 || value > 1000) throw refuse();
  return static_cast<int>(value);
}

// PostgreSQL's timeouts are int milliseconds: at most 2147483647 ms.
std::chrono::milliseconds parse_server_timeout(const RawSetting& raw) {
  const auto value = parse_seconds(raw.source, raw.text);
  if (value.count() > 2147483647) {
    throw UsageError(raw.source + ": " + quote_value(raw.text) + " is more than PostgreSQL allows (2147483 seconds)");
  }
  return value;
}

// AUTO_MIGRATE_COMMAND in Docker's two forms: a JSON array of strings is the argv (exec
// form, no shell needed in the image); any other text runs with /bin/sh -c. Text that opens
// like an array (`["` or `[]`) must be one: a typo in it would otherwise run as a shell line.
std::vector<std::string> parse_migrate_command(const RawSetting& raw) {
  const std::size_t first = raw.text.find_first_not_of(" \t\r\n");
  const std::size_t second = first == std::string::npos ? first : raw.text.find_first_not_of(" \t\r\n", first + 1);
  const bool array_form = first != std::string::npos && raw.text[first] == '[' && second != std::string::npos &&
                          (raw.text[second] == '"' || raw.text[second] == ']');
  if (!array_form) {
    if (first == std::string::npos) throw UsageError(raw.source + ": the command is blank");
    return {"/bin/sh", "-c", raw.text};
  }
  std::vector<std::string> argv;
  try {
    argv = parse_json_string_array(raw.text);
  } catch (const std::invalid_argument& e) {
    throw UsageError(raw.source + ": not a JSON array of strings: " + e.what() +
                     " (a command that is not a JSON array runs with /bin/sh -c)");
  }
  if (argv.empty() || argv[0].empty()) throw UsageError(raw.source + ": the JSON array names no program");
  return argv;
}

RunMode parse_mode(const RawSetting& raw) {
  if (raw.text == "auto") return RunMode::automatic;
  if (raw.text == "supervise") return RunMode::supervise;
  if (raw.text == "exec") return RunMode::exec;
  throw UsageError(raw.source + ": " + quote_value(raw.text) + " is not a mode (use auto, supervise or exec)");
}

void apply_setting(Config& config, const SettingSpec& spec, const RawSetting& raw) {
  const std::string_view flag = spec.flag;
  if (flag == "auto-migrate") {
    config.auto_migrate = parse_bool(raw.source, raw.text);
  } else if (flag == "fail-on-error") {
    config.fail_on_error = parse_bool(raw.source, raw.text);
  } else if (flag == "database-url") {
    config.database_url = raw.text;
    config.database_url_source = raw.source;
  } else if (flag == "migrate-database-url") {
    config.migrate_database_url = raw.text;
    config.migrate_database_url_source = raw.source;
  } else if (flag == "dir") {
    config.migrations_dir = raw.text;
  } else if (flag == "table") {
    config.ledger = parse_ledger_name(raw.source, raw.text);
  } else if (flag == "wait") {
    config.wait = parse_seconds(raw.source, raw.text);
  } else if (flag == "lock-timeout") {
    config.lock_timeout = parse_seconds(raw.source, raw.text);
  } else if (flag == "lock-key") {
    if (raw.text != "derived") config.lock_key = parse_int64(raw.source, raw.text);
  } else if (flag == "log-level") {
    if (raw.text != "debug" && raw.text != "info" && raw.text != "warn" && raw.text != "error") {
      throw UsageError(raw.source + ": " + quote_value(raw.text) + " is not a log level (use debug, info, warn or error)");
    }
    config.log_level = raw.text;
  } else if (flag == "mode") {
    config.mode = parse_mode(raw);
  } else if (flag == "process-group") {
    config.process_group = parse_bool(raw.source, raw.text);
  } else if (flag == "stop-timeout") {
    config.stop_timeout = parse_seconds(raw.source, raw.text);
  } else if (flag == "allow-drift") {
    config.allow_drift = parse_bool(raw.source, raw.text);
  } else if (flag == "allow-out-of-order") {
    config.allow_out_of_order = parse_bool(raw.source, raw.text);
  } else if (flag == "baseline") {
    config.baseline = parse_version(raw.source, raw.text);
  } else if (flag == "db-lock-timeout") {
    config.db_lock_timeout = parse_server_timeout(raw);
  } else if (flag == "db-lock-retries") {
    config.db_lock_retries = parse_count(raw.source, raw.text);
  } else if (flag == "statement-timeout") {
    config.statement_timeout = parse_server_timeout(raw);
  } else if (flag == "required") {
    config.required = parse_list(raw);
    for (const auto& item : config.required) {
      if (item != "all" && !parse_migration_file_name(item + ".sql") && item.find_first_not_of("0123456789") != std::string::npos) {
        throw UsageError(raw.source + ": " + quote_value(item) + " is not a migration (use 001_name, 001, or all)");
      }
    }
  } else if (flag == "wait-for-schema") {
    config.wait_for_schema = parse_seconds(raw.source, raw.text);
  } else if (flag == "schemas") {
    config.schemas = parse_list(raw);
  } else if (flag == "schemas-query") {
    config.schemas_query = raw.text;
  } else if (flag == "log-format") {
    if (raw.text != "text" && raw.text != "json") {
      throw UsageError(raw.source + ": " + quote_value(raw.text) + " is not a log format (use text or json)");
    }
    config.json_logs = raw.text == "json";
  } else if (flag == "migrate-command") {
    config.migrate_command = parse_migrate_command(raw);
    config.migrate_command_text = raw.text;
  } else if (flag == "migrate-command-grace") {
    config.migrate_command_grace = parse_seconds(raw.source, raw.text);
  } else if (flag == "fast-path") {
    if (raw.text != "auto" && raw.text != "off") {
      throw UsageError(raw.source + ": " + quote_value(raw.text) + " is not a fast-path setting (use auto or off)");
    }
    config.fast_path = raw.text == "auto";
  } else if (flag == "alembic-ini") {
    config.alembic_ini = raw.text;
  } else if (flag == "alembic-version-table") {
    config.alembic_version_table = parse_ledger_name(raw.source, raw.text);
  } else if (flag == "django-migrations") {
    config.django_manifest = std::filesystem::path(raw.text);
  }
}

// What only the .sql engine does, asked for in command mode: refused, not silently ignored.
void refuse_sql_only_settings(const Config& config) {
  if (!config.command_mode()) return;
  const auto refuse = [](const std::string& what) {
    throw UsageError(what + " works on .sql files and cannot be combined with AUTO_MIGRATE_COMMAND (your "
                            "migrator keeps its own history)");
  };
  if (config.command == Command::repair) refuse("'repair'");
  if (config.command == Command::rollback) refuse("'rollback' (use your migrator's own downgrade command)");
  if (config.baseline) refuse("AUTO_MIGRATE_BASELINE");
  if (config.allow_drift) refuse("AUTO_MIGRATE_ALLOW_DRIFT");
  if (config.allow_out_of_order) refuse("AUTO_MIGRATE_ALLOW_OUT_OF_ORDER");
  if (!config.fast_path && (!config.required.empty() || config.wait_for_schema.count() > 0)) {
    throw UsageError("AUTO_MIGRATE_REQUIRED and AUTO_MIGRATE_WAIT_FOR_SCHEMA need the fast path in command mode (it "
                     "is what knows whether the migrator has work left); they cannot be combined with "
                     "AUTO_MIGRATE_FAST_PATH=off");
  }
  for (const auto& item : config.required) {
    if (item != "all") {
      throw UsageError("AUTO_MIGRATE_REQUIRED: with AUTO_MIGRATE_COMMAND only 'all' can be checked (the migrator's "
                       "history is not .sql files), not " + quote_value(item));
    }
  }
}

// The subcommands' own arguments: repair VERSION --applied|--retry, repair --checksums,
// rollback --to VERSION.
void apply_subcommand_arguments(Config& config, const SplitArgs& split, const po::variables_map& flags) {
  config.json = flags.count("json") != 0;
  const std::string name = split.subcommand.value_or("run");
  const bool reports = config.command == Command::status || config.command == Command::plan ||
                       config.command == Command::verify || config.command == Command::check;
  if (config.json && !reports) {
    throw UsageError("--json belongs to status, plan, verify and check (for JSON logs, set AUTO_MIGRATE_LOG_FORMAT=json)");
  }
  if (flags.count("to")) {
    if (config.command != Command::rollback) throw UsageError("--to belongs to rollback");
    config.rollback_to = parse_version("--to", flags["to"].as<std::string>());
  }
  config.repair_applied = flags.count("applied") != 0;
  config.repair_retry = flags.count("retry") != 0;
  config.repair_checksums = flags.count("checksums") != 0;
  if ((config.repair_applied || config.repair_retry || config.repair_checksums) && config.command != Command::repair) {
    throw UsageError("--applied, --retry and --checksums belong to repair");
  }
  if (config.command == Command::repair) {
    const bool by_version = split.positionals.size() == 1 && config.repair_applied != config.repair_retry &&
                            !config.repair_checksums;
    const bool checksums = split.positionals.empty() && !config.repair_applied && !config.repair_retry &&
                           config.repair_checksums;
    if (!by_version && !checksums) {
      throw UsageError("use: migrate-init repair VERSION --applied, migrate-init repair VERSION --retry, or "
                       "migrate-init repair --checksums");
    }
    if (by_version) config.repair_version = parse_version("repair VERSION", split.positionals[0]);
  } else if (!split.positionals.empty()) {
    throw UsageError("'" + name + "' takes no argument " + quote_value(split.positionals[0]));
  }
}

} // namespace

SecretFileReader read_secret_file() {
  return [](const std::string& path, const std::string& source) {
    // Checked before opening: a directory opens, then fails on the first read, and a FIFO
    // would block the open. Secrets are regular files (or symlinks to them, as Kubernetes
    // mounts them).
    std::error_code ignored;
    if (std::filesystem::exists(path, ignored) && !std::filesystem::is_regular_file(path, ignored)) {
      throw UsageError(source + ": not a regular file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(source + ": cannot read the file");
    std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) throw UsageError(source + ": the file is empty");
    return value;
  };
}

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
}

Config parse_config(const std::vector<std::string>& args, const EnvLookup& env, const SecretFileReader& read_file) {
  const SplitArgs split = split_args(args);
  po::variables_map flags;
  try {
    // No abbreviations: split_args must know each option to find its value.
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(split.options).options(option_descriptions()).style(style).run(), flags);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see migrate-init --help)");
  }

  Config config;
  if (flags.count("help")) {
    config.command = Command::help;
    return config;
  }
  if (flags.count("version")) {
    config.command = Command::version;
    return config;
  }
  for (const auto& spec : settings_table()) {
    if (auto raw = raw_setting(spec, flags, env, read_file)) {
      require_utf8(spec, *raw);
      apply_setting(config, spec, *raw);
    }
  }
  if (config.lock_key && (!config.schemas.empty() || !config.schemas_query.empty())) {
    throw UsageError("AUTO_MIGRATE_LOCK_KEY cannot be combined with tenant schemas: each tenant gets its own key");
  }
  const bool tenants = !config.schemas.empty() || !config.schemas_query.empty();
  if (tenants && (!config.required.empty() || config.wait_for_schema.count() > 0)) {
    throw UsageError("AUTO_MIGRATE_REQUIRED and AUTO_MIGRATE_WAIT_FOR_SCHEMA check one ledger; they cannot be "
                     "combined with tenant schemas");
  }
  if (!config.schemas.empty() && !config.schemas_query.empty()) {
    throw UsageError("set AUTO_MIGRATE_SCHEMAS or AUTO_MIGRATE_SCHEMAS_QUERY, not both");
  }

  config.command = command_for(split.subcommand);
  config.service_command = split.command;
  apply_subcommand_arguments(config, split, flags);
  if (config.command != Command::run && (!split.command.empty() || split.saw_separator)) {
    throw UsageError("'" + *split.subcommand + "' takes no command; to run a service use: migrate-init [options] -- COMMAND [ARGS...]");
  }
  refuse_sql_only_settings(config);
  if (config.command == Command::run && config.service_command.empty()) {
    throw UsageError("no command to run: use migrate-init [options] -- COMMAND [ARGS...], or migrate-init migrate");
  }
  return config;
}

} // namespace migrate_init
