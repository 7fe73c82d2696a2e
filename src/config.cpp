#include "config.hpp"

#include "error.hpp"
#include "json.hpp"
#include "sql_files/migration_file.hpp"
#include "setting_values.hpp"
#include "text.hpp"

#include <boost/program_options.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace po = boost::program_options;

namespace migrate_init {
namespace {

// One row per setting: the single source for parsing, --help and the table in docs/reference.md.
struct SettingSpec {
  const char* flag;    // long option name, without "--"
  const char* env;     // environment variable
  const char* default_text;
  const char* meaning;
  bool is_boolean;     // a bare --flag means true
};

constexpr std::array k_settings{
    SettingSpec{"auto-migrate", "AUTO_MIGRATE", "true",
                "run pending migrations before the service", true},
    SettingSpec{"fail-on-error", "AUTO_MIGRATE_FAIL_ON_ERROR", "false",
                "on a migration failure, exit instead of starting the service", true},
    SettingSpec{"database-url", "DATABASE_URL", "libpq's PG* variables",
                "postgres:// or postgresql:// URI (postgresql+DRIVER:// too), or key=value conninfo", false},
    SettingSpec{"migrate-database-url", "AUTO_MIGRATE_DATABASE_URL", "DATABASE_URL",
                "the URL to migrate with (DDL credentials); removed from the service's environment", false},
    SettingSpec{"dir", "AUTO_MIGRATE_DIR", "./migrations", "where the .sql files are", false},
    SettingSpec{"table", "AUTO_MIGRATE_TABLE", "schema_migrations",
                "the ledger table, optionally schema-qualified", false},
    SettingSpec{"wait", "AUTO_MIGRATE_WAIT", "30",
                "seconds to wait for the database to accept connections", false},
    SettingSpec{"lock-timeout", "AUTO_MIGRATE_LOCK_TIMEOUT", "300",
                "seconds to wait for another instance's migration lock", false},
    SettingSpec{"lock-key", "AUTO_MIGRATE_LOCK_KEY", "derived",
                "64-bit advisory lock key (default: from database, schema and table)", false},
    SettingSpec{"log-level", "AUTO_MIGRATE_LOG_LEVEL", "info", "debug, info, warn or error", false},
    SettingSpec{"mode", "AUTO_MIGRATE_MODE", "auto",
                "how to run the service: auto (supervise as PID 1, else exec), supervise or exec", false},
    SettingSpec{"process-group", "AUTO_MIGRATE_PROCESS_GROUP", "false",
                "when supervising, forward signals to the service's whole process group", true},
    SettingSpec{"stop-timeout", "AUTO_MIGRATE_STOP_TIMEOUT", "0 (off)",
                "when supervising, SIGKILL the service this many seconds after forwarding SIGTERM or SIGINT",
                false},
    SettingSpec{"allow-drift", "AUTO_MIGRATE_ALLOW_DRIFT", "false",
                "warn instead of stopping when an applied migration's file has changed", true},
    SettingSpec{"allow-out-of-order", "AUTO_MIGRATE_ALLOW_OUT_OF_ORDER", "false",
                "apply a pending file whose version is lower than the newest applied one", true},
    SettingSpec{"baseline", "AUTO_MIGRATE_BASELINE", "none",
                "on an empty ledger, record every file up to this version as applied without running it", false},
    SettingSpec{"db-lock-timeout", "AUTO_MIGRATE_DB_LOCK_TIMEOUT", "5",
                "PostgreSQL lock_timeout in seconds for migration statements (0: off)", false},
    SettingSpec{"db-lock-retries", "AUTO_MIGRATE_DB_LOCK_RETRIES", "6",
                "attempts for a migration that hits lock_timeout, with backoff between them", false},
    SettingSpec{"statement-timeout", "AUTO_MIGRATE_STATEMENT_TIMEOUT", "0 (off)",
                "PostgreSQL statement_timeout in seconds for migration statements, never for CONCURRENTLY ones",
                false},
    SettingSpec{"required", "AUTO_MIGRATE_REQUIRED", "none",
                "migrations that must be applied before the service starts: ids or versions, comma-separated, or all",
                false},
    SettingSpec{"wait-for-schema", "AUTO_MIGRATE_WAIT_FOR_SCHEMA", "0 (off)",
                "with AUTO_MIGRATE=false, seconds to wait until every file is applied by someone else", false},
    SettingSpec{"schemas", "AUTO_MIGRATE_SCHEMAS", "none",
                "tenant schemas to migrate in turn, comma-separated, each with its own ledger and lock", false},
    SettingSpec{"schemas-query", "AUTO_MIGRATE_SCHEMAS_QUERY", "none",
                "a query whose first column lists the tenant schemas", false},
    SettingSpec{"log-format", "AUTO_MIGRATE_LOG_FORMAT", "text", "text, or json: one JSON object per line", false},
    SettingSpec{"migrate-command", "AUTO_MIGRATE_COMMAND", "none",
                "run this migrator under the lock instead of applying .sql files: a JSON array (no shell) or a "
                "string for /bin/sh -c",
                false},
    SettingSpec{"migrate-command-grace", "AUTO_MIGRATE_COMMAND_GRACE", "10",
                "seconds between forwarding a stop signal to the migrator and SIGKILLing it", false},
    SettingSpec{"fast-path", "AUTO_MIGRATE_FAST_PATH", "auto",
                "command mode: auto skips the migrator when nothing is pending (Alembic heads, or the files of its "
                "last success); off always runs it",
                false},
    SettingSpec{"alembic-ini", "AUTO_MIGRATE_ALEMBIC_INI", "alembic.ini",
                "command mode: the Alembic config whose script_location holds the revisions", false},
    SettingSpec{"alembic-version-table", "AUTO_MIGRATE_ALEMBIC_VERSION_TABLE", "alembic_version",
                "command mode: Alembic's version table, optionally schema-qualified", false},
    SettingSpec{"django-migrations", "AUTO_MIGRATE_DJANGO_MIGRATIONS", "none",
                "command mode: a manifest of the Django migration graph (\"APP NAME\" a line), written where the "
                "image is built; without it Django's migrator runs on every start",
                false},
};

const SettingSpec* find_setting(std::string_view flag) {
  for (const auto& spec : k_settings) {
    if (flag == spec.flag) return &spec;
  }
  return nullptr;
}

po::options_description option_descriptions() {
  po::options_description options("Options (each also read from its environment variable; flags win)");
  options.add_options()("help,h", "print this help and exit")("version,V", "print the version and exit")(
      "json", "status, plan, verify, check: print JSON instead of a table")(
      "to", po::value<std::string>()->value_name("VERSION"), "rollback: undo every migration after VERSION")(
      "applied", "repair: mark the unfinished migration applied (you finished it by hand)")(
      "retry", "repair: resume the unfinished migration at its failed statement")(
      "checksums", "repair: record the files' checksums in applied ledger rows that have none");
  for (const auto& spec : k_settings) {
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

// The invocation split into its three parts: options, an optional subcommand, and the
// service command, which is kept exactly as given.
struct SplitArgs {
  std::vector<std::string> options;
  std::optional<std::string> subcommand;
  std::vector<std::string> command;
  std::vector<std::string> positionals; // words after a subcommand other than run
  bool saw_separator = false;
};

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
  for (const auto& spec : k_settings) {
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

std::string help_text() {
  std::ostringstream out;
  out << "Usage:\n"
         "  migrate-init [options] -- COMMAND [ARGS...]   migrate, then run COMMAND\n"
         "  migrate-init migrate [options]                migrate and exit\n"
         "  migrate-init status [--json] [options]        list migrations: applied, pending, changed, unfinished\n"
         "  migrate-init plan [--json] [options]          what would run, changing nothing\n"
         "  migrate-init verify [--json] [options]        exit 0 if the database matches the files, else 5\n"
         "  migrate-init repair VERSION --applied|--retry resolve an unfinished migration, or record a file\n"
         "                                                that ran outside migrate-init as applied (--applied)\n"
         "  migrate-init repair --checksums               record the files' checksums in rows that have none\n"
         "  migrate-init rollback [--to VERSION]          run the down sections of the latest migrations\n"
         "  migrate-init check [--json] [options]         read the migrations offline: exit 5 on what would fail\n"
         "\n"
         "Settings: each is read from its environment variable; its flag wins.\n";
  // One entry per setting, flag and variable on the first line, so nothing wraps apart.
  for (const auto& spec : k_settings) {
    out << "  --" << spec.flag << (spec.is_boolean ? "[=BOOL]" : "=VALUE") << "  " << spec.env << " (default "
        << spec.default_text << ")\n      " << spec.meaning << "\n";
  }
  out << "\n"
         "Other options:\n"
         "  --json             status, plan, verify, check: print JSON\n"
         "  --to VERSION       rollback: undo every migration after VERSION (default: only the latest)\n"
         "  --applied          repair: record the unfinished (or pending) migration as applied, not run\n"
         "  --retry            repair: resume the unfinished migration at its failed statement\n"
         "  --checksums        repair: record the files' checksums in applied rows that have none\n"
         "  -h, --help         print this help;  -V, --version  print the version\n"
         "\n"
         "Booleans take true/false, 1/0, yes/no, on/off; an empty variable counts as unset.\n"
         "Exit codes: 0 ok, 1 migration failed, 2 usage error, 3 lock wait timed out,\n"
         "4 database unreachable, 5 the database and the files disagree, 126 command not\n"
         "executable, 127 command not found, 128+N interrupted by signal N while migrating;\n"
         "otherwise the service's own exit code.\n";
  return out.str();
}

} // namespace migrate_init
