#include "config.hpp"

#include "error.hpp"
#include "settings_table.hpp"

#include "env_from.hpp"
#include "usage_error.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <string>
#include <vector>

using namespace migrate_init;
using test::env_from;
using std::chrono::milliseconds;
using Args = std::vector<std::string>;

namespace {

const EnvLookup k_no_env = env_from({});

std::string usage_error_message(const Args& args, const EnvLookup& env) {
  return test::usage_error_message_of([&] { parse_config(args, env); });
}

} // namespace

TEST_CASE("parse_config gives the documented defaults when nothing is set") {
  const Config config = parse_config({"--", "server"}, k_no_env);
  CHECK(config.command == Command::run);
  CHECK(config.auto_migrate == true);
  CHECK(config.fail_on_error == false);
  CHECK(config.database_url.empty());
  CHECK(config.database_url_source == "DATABASE_URL");
  CHECK(config.migrations_dir == std::filesystem::path("./migrations"));
  CHECK_FALSE(config.ledger.schema.has_value());
  CHECK(config.ledger.table == "schema_migrations");
  CHECK(config.wait == milliseconds(30'000));
  CHECK(config.lock_timeout == milliseconds(300'000));
  CHECK_FALSE(config.lock_key.has_value());
  CHECK(config.log_level == "info");
  CHECK(config.service_command == Args{"server"});
}

TEST_CASE("parse_config reads every setting from the environment") {
  const Config config = parse_config({"migrate"}, env_from({
                                                      {"AUTO_MIGRATE", "no"},
                                                      {"AUTO_MIGRATE_FAIL_ON_ERROR", "YES"},
                                                      {"DATABASE_URL", "postgres://app@db/app"},
                                                      {"AUTO_MIGRATE_DIR", "/srv/migrations"},
                                                      {"AUTO_MIGRATE_TABLE", "meta.ledger"},
                                                      {"AUTO_MIGRATE_WAIT", "5"},
                                                      {"AUTO_MIGRATE_LOCK_TIMEOUT", "1.5"},
                                                      {"AUTO_MIGRATE_LOCK_KEY", "-12345"},
                                                      {"AUTO_MIGRATE_LOG_LEVEL", "debug"},
                                                  }));
  CHECK(config.command == Command::migrate);
  CHECK(config.auto_migrate == false);
  CHECK(config.fail_on_error == true);
  CHECK(config.database_url == "postgres://app@db/app");
  CHECK(config.database_url_source == "DATABASE_URL");
  CHECK(config.migrations_dir == std::filesystem::path("/srv/migrations"));
  REQUIRE(config.ledger.schema.has_value());
  CHECK(*config.ledger.schema == "meta");
  CHECK(config.ledger.table == "ledger");
  CHECK(config.wait == milliseconds(5'000));
  CHECK(config.lock_timeout == milliseconds(1'500));
  REQUIRE(config.lock_key.has_value());
  CHECK(*config.lock_key == -12345);
  CHECK(config.log_level == "debug");
  CHECK(config.service_command.empty());
}

TEST_CASE("parse_config lets flags win over the environment") {
  SUBCASE("a number of seconds") {
    const Config config = parse_config({"--wait=7", "migrate"}, env_from({{"AUTO_MIGRATE_WAIT", "5"}}));
    CHECK(config.wait == milliseconds(7'000));
  }
  SUBCASE("a value given as the next word") {
    const Config config = parse_config({"--lock-timeout", "9", "migrate"}, env_from({{"AUTO_MIGRATE_LOCK_TIMEOUT", "1"}}));
    CHECK(config.lock_timeout == milliseconds(9'000));
  }
  SUBCASE("a bare boolean flag means true") {
    const Config config =
        parse_config({"--fail-on-error", "--", "app"}, env_from({{"AUTO_MIGRATE_FAIL_ON_ERROR", "false"}}));
    CHECK(config.fail_on_error == true);
  }
  SUBCASE("an explicit false beats an environment true") {
    const Config config =
        parse_config({"--fail-on-error=false", "migrate"}, env_from({{"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}}));
    CHECK(config.fail_on_error == false);
  }
  SUBCASE("--auto-migrate=off beats AUTO_MIGRATE=on") {
    const Config config = parse_config({"--auto-migrate=off", "--", "app"}, env_from({{"AUTO_MIGRATE", "on"}}));
    CHECK(config.auto_migrate == false);
  }
  SUBCASE("the database URL records where it came from") {
    const Config config = parse_config({"--database-url", "postgres://flag@db/x", "migrate"},
                                       env_from({{"DATABASE_URL", "postgres://env@db/x"}}));
    CHECK(config.database_url == "postgres://flag@db/x");
    CHECK(config.database_url_source == "--database-url");
  }
  SUBCASE("--lock-key=derived beats a numeric variable") {
    const Config config = parse_config({"--lock-key=derived", "migrate"}, env_from({{"AUTO_MIGRATE_LOCK_KEY", "42"}}));
    CHECK_FALSE(config.lock_key.has_value());
  }
  SUBCASE("--table and --log-level") {
    const Config config = parse_config({"--table=public.applied", "--log-level=warn", "status"},
                                       env_from({{"AUTO_MIGRATE_TABLE", "other"}, {"AUTO_MIGRATE_LOG_LEVEL", "error"}}));
    CHECK(config.ledger.display() == "public.applied");
    CHECK(config.log_level == "warn");
  }
}

TEST_CASE("parse_config treats an empty environment variable as unset") {
  const Config config = parse_config({"migrate"}, env_from({
                                                      {"AUTO_MIGRATE", ""},
                                                      {"AUTO_MIGRATE_WAIT", ""},
                                                      {"AUTO_MIGRATE_TABLE", ""},
                                                      {"AUTO_MIGRATE_LOCK_KEY", ""},
                                                      {"AUTO_MIGRATE_LOG_LEVEL", ""},
                                                      {"DATABASE_URL", ""},
                                                  }));
  CHECK(config.auto_migrate == true);
  CHECK(config.wait == milliseconds(30'000));
  CHECK(config.ledger.table == "schema_migrations");
  CHECK_FALSE(config.lock_key.has_value());
  CHECK(config.log_level == "info");
  CHECK(config.database_url.empty());
}

TEST_CASE("parse_config treats a lock key of \"derived\" as no key and reads a number otherwise") {
  CHECK_FALSE(parse_config({"migrate"}, env_from({{"AUTO_MIGRATE_LOCK_KEY", "derived"}})).lock_key.has_value());
  const Config negative = parse_config({"--lock-key", "-7", "migrate"}, k_no_env);
  REQUIRE(negative.lock_key.has_value());
  CHECK(*negative.lock_key == -7);
}

TEST_CASE("parse_config names the flag or the variable that holds a bad value") {
  SUBCASE("a bad --wait names the flag") {
    const std::string message = usage_error_message({"--wait=soon", "migrate"}, k_no_env);
    CHECK(message.find("--wait") == 0);
    CHECK(message.find("\"soon\"") != std::string::npos);
    CHECK(message.find("AUTO_MIGRATE_WAIT") == std::string::npos);
  }
  SUBCASE("a bad AUTO_MIGRATE_WAIT names the variable") {
    const std::string message = usage_error_message({"migrate"}, env_from({{"AUTO_MIGRATE_WAIT", "soon"}}));
    CHECK(message.find("AUTO_MIGRATE_WAIT") == 0);
    CHECK(message.find("\"soon\"") != std::string::npos);
  }
  SUBCASE("a bad boolean variable") {
    const std::string message = usage_error_message({"migrate"}, env_from({{"AUTO_MIGRATE", "maybe"}}));
    CHECK(message.find("AUTO_MIGRATE: ") == 0);
  }
  SUBCASE("a bad boolean flag") {
    const std::string message = usage_error_message({"--auto-migrate=maybe", "migrate"}, k_no_env);
    CHECK(message.find("--auto-migrate: ") == 0);
  }
  SUBCASE("a bad table name") {
    const std::string message = usage_error_message({"migrate"}, env_from({{"AUTO_MIGRATE_TABLE", "a;drop"}}));
    CHECK(message.find("AUTO_MIGRATE_TABLE") == 0);
    CHECK(message.find("\"a;drop\"") != std::string::npos);
  }
  SUBCASE("a bad lock key") {
    const std::string message = usage_error_message({"--lock-key=12x", "migrate"}, k_no_env);
    CHECK(message.find("--lock-key") == 0);
  }
  SUBCASE("a bad log level") {
    const std::string message = usage_error_message({"migrate"}, env_from({{"AUTO_MIGRATE_LOG_LEVEL", "verbose"}}));
    CHECK(message.find("AUTO_MIGRATE_LOG_LEVEL") == 0);
    CHECK(message.find("\"verbose\"") != std::string::npos);
    CHECK(message.find("debug, info, warn or error") != std::string::npos);
  }
  SUBCASE("log levels are case-sensitive") {
    CHECK_THROWS_AS(parse_config({"--log-level=INFO", "migrate"}, k_no_env), UsageError);
  }
}

TEST_CASE("parse_config recognises the subcommands") {
  CHECK(parse_config({"migrate"}, k_no_env).command == Command::migrate);
  CHECK(parse_config({"status"}, k_no_env).command == Command::status);
  const Config run = parse_config({"run", "--", "app"}, k_no_env);
  CHECK(run.command == Command::run);
  CHECK(run.service_command == Args{"app"});
  // Options may come after the subcommand too.
  const Config after = parse_config({"migrate", "--dir", "/x"}, k_no_env);
  CHECK(after.command == Command::migrate);
  CHECK(after.migrations_dir == std::filesystem::path("/x"));
}

TEST_CASE("parse_config keeps everything after -- exactly as given") {
  const Args args{"--wait=1", "--", "node", "--dir", "", "--", "migrate", "-h"};
  const Config config = parse_config(args, k_no_env);
  CHECK(config.command == Command::run);
  CHECK(config.service_command == Args{"node", "--dir", "", "--", "migrate", "-h"});
  // The --dir after -- belongs to the service, not to migrate-init.
  CHECK(config.migrations_dir == std::filesystem::path("./migrations"));
  CHECK(config.wait == milliseconds(1'000));
}

TEST_CASE("parse_config takes the first word that is not an option as the start of the command") {
  SUBCASE("without any options") {
    const Config config = parse_config({"node", "server.js"}, k_no_env);
    CHECK(config.command == Command::run);
    CHECK(config.service_command == Args{"node", "server.js"});
  }
  SUBCASE("options after the command word belong to the command") {
    const Config config = parse_config({"--fail-on-error", "node", "--wait=3", "migrate"}, k_no_env);
    CHECK(config.fail_on_error == true);
    CHECK(config.wait == milliseconds(30'000));
    CHECK(config.service_command == Args{"node", "--wait=3", "migrate"});
  }
  SUBCASE("a separate option value is consumed as the value, not as the command") {
    const Config config = parse_config({"--dir", "/x", "app", "arg"}, k_no_env);
    CHECK(config.migrations_dir == std::filesystem::path("/x"));
    CHECK(config.service_command == Args{"app", "arg"});
  }
  SUBCASE("a subcommand name after -- is a service command") {
    const Config config = parse_config({"--", "migrate"}, k_no_env);
    CHECK(config.command == Command::run);
    CHECK(config.service_command == Args{"migrate"});
  }
}

TEST_CASE("parse_config rejects invalid command lines") {
  SUBCASE("migrate with a command") {
    const std::string message = usage_error_message({"migrate", "--", "x"}, k_no_env);
    CHECK(message.find("'migrate' takes no command") == 0);
  }
  SUBCASE("migrate with an empty --") {
    CHECK(usage_error_message({"migrate", "--"}, k_no_env).find("'migrate'") == 0);
  }
  SUBCASE("status with a command word") {
    CHECK(usage_error_message({"status", "app"}, k_no_env) == "'status' takes no argument \"app\"");
  }
  SUBCASE("repair without its version or its action") {
    CHECK(usage_error_message({"repair", "--retry"}, k_no_env).find("use: migrate-init repair VERSION") == 0);
    CHECK(usage_error_message({"repair", "7"}, k_no_env).find("use: migrate-init repair VERSION") == 0);
    CHECK(usage_error_message({"repair", "7", "--retry", "--applied"}, k_no_env).find("use:") == 0);
    CHECK(usage_error_message({"repair", "x7", "--retry"}, k_no_env).find("repair VERSION: \"x7\" is not") == 0);
    CHECK(usage_error_message({"migrate", "--retry"}, k_no_env) == "--applied, --retry and --checksums belong to repair");
    CHECK(usage_error_message({"verify", "--checksums"}, k_no_env) == "--applied, --retry and --checksums belong to repair");
    CHECK(usage_error_message({"repair", "7", "--checksums"}, k_no_env) ==
          "use: migrate-init repair VERSION --applied, migrate-init repair VERSION --retry, or migrate-init repair "
          "--checksums");
    CHECK(usage_error_message({"repair", "--checksums", "--applied"}, k_no_env).find("use:") == 0);
    CHECK(usage_error_message({"migrate", "--to", "3"}, k_no_env) == "--to belongs to rollback");
  }
  SUBCASE("run without a command") {
    CHECK(usage_error_message({}, k_no_env).find("no command to run") == 0);
    CHECK(usage_error_message({"run"}, k_no_env).find("no command to run") == 0);
    CHECK(usage_error_message({"--wait=3", "--"}, k_no_env).find("no command to run") == 0);
  }
  SUBCASE("an unknown option") {
    const std::string message = usage_error_message({"--no-such-option", "migrate"}, k_no_env);
    CHECK(message.find("no-such-option") != std::string::npos);
    CHECK(message.find("--help") != std::string::npos);
  }
  SUBCASE("a value-taking option at the very end") {
    CHECK_THROWS_AS(parse_config({"migrate", "--wait"}, k_no_env), UsageError);
  }
  SUBCASE("an empty flag value is an error, not the default") {
    CHECK(usage_error_message({"--wait=", "migrate"}, k_no_env).find("'--wait'") != std::string::npos);
    CHECK(usage_error_message({"--dir=", "migrate"}, k_no_env).find("'--dir'") != std::string::npos);
  }
}

TEST_CASE("parse_config answers --help and --version before checking anything else") {
  const EnvLookup broken = env_from({{"AUTO_MIGRATE_WAIT", "soon"}});
  CHECK(parse_config({"--help"}, broken).command == Command::help);
  CHECK(parse_config({"-h"}, k_no_env).command == Command::help);
  CHECK(parse_config({"migrate", "--help"}, k_no_env).command == Command::help);
  CHECK(parse_config({"--version"}, broken).command == Command::version);
  CHECK(parse_config({"-V"}, k_no_env).command == Command::version);
  // -h after -- belongs to the service.
  CHECK(parse_config({"--", "app", "-h"}, k_no_env).command == Command::run);
}

TEST_CASE("help_text documents every setting's flag and variable, and the exit codes") {
  const std::string help = help_text();
  for (const char* text : {"--auto-migrate", "AUTO_MIGRATE (", "--fail-on-error", "AUTO_MIGRATE_FAIL_ON_ERROR",
                           "--database-url", "DATABASE_URL", "--dir", "AUTO_MIGRATE_DIR", "--table",
                           "AUTO_MIGRATE_TABLE", "--wait", "AUTO_MIGRATE_WAIT", "--lock-timeout",
                           "AUTO_MIGRATE_LOCK_TIMEOUT", "--lock-key", "AUTO_MIGRATE_LOCK_KEY", "--log-level",
                           "AUTO_MIGRATE_LOG_LEVEL", "--help", "--version", "migrate-init migrate",
                           "migrate-init status", "2 usage error", "127 command not found"}) {
    CAPTURE(text);
    CHECK(help.find(text) != std::string::npos);
  }
}

TEST_CASE("parse_config reads a boolean flag's separate value instead of taking it as the command") {
  const Config config = parse_config({"--auto-migrate", "false", "--fail-on-error", "yes", "--", "app"}, k_no_env);
  CHECK_FALSE(config.auto_migrate);
  CHECK(config.fail_on_error);
  CHECK(config.service_command == Args{"app"});

  // A word that is not a boolean is not swallowed: it starts the command.
  const Config command = parse_config({"--fail-on-error", "server", "--port", "80"}, k_no_env);
  CHECK(command.fail_on_error);
  CHECK(command.service_command == Args{"server", "--port", "80"});
}

TEST_CASE("parse_config never takes -- as an option's value, and refuses abbreviated options") {
  CHECK(usage_error_message({"--dir", "--", "x"}, k_no_env).find("--dir") != std::string::npos);
  CHECK(usage_error_message({"--wai", "5", "--", "x"}, k_no_env).find("--wai") != std::string::npos);
}

TEST_CASE("parse_config reads the supervision settings") {
  const Config defaults = parse_config({"--", "x"}, k_no_env);
  CHECK(defaults.mode == RunMode::automatic);
  CHECK_FALSE(defaults.process_group);
  CHECK(defaults.stop_timeout == milliseconds(0));

  const Config set = parse_config({"--mode", "exec", "--", "x"},
                                  env_from({{"AUTO_MIGRATE_MODE", "supervise"}, {"AUTO_MIGRATE_PROCESS_GROUP", "on"},
                                            {"AUTO_MIGRATE_STOP_TIMEOUT", "2.5"}}));
  CHECK(set.mode == RunMode::exec);
  CHECK(set.process_group);
  CHECK(set.stop_timeout == milliseconds(2500));
  CHECK(parse_config({"--", "x"}, env_from({{"AUTO_MIGRATE_MODE", "supervise"}})).mode == RunMode::supervise);

  CHECK(usage_error_message({"--", "x"}, env_from({{"AUTO_MIGRATE_MODE", "daemon"}})) ==
        "AUTO_MIGRATE_MODE: \"daemon\" is not a mode (use auto, supervise or exec)");
  CHECK(usage_error_message({"--stop-timeout=soon", "--", "x"}, k_no_env).find("--stop-timeout: \"soon\"") == 0);
}

TEST_CASE("parse_config reads the arguments of repair and rollback, options after them too") {
  const Config repair = parse_config({"repair", "006", "--retry", "--dir", "/m"}, k_no_env);
  CHECK(repair.command == Command::repair);
  CHECK(repair.repair_version == std::optional<std::string>("006"));
  CHECK(repair.repair_retry);
  CHECK_FALSE(repair.repair_applied);
  CHECK(repair.migrations_dir == "/m");
  const Config checksums = parse_config({"repair", "--checksums"}, k_no_env);
  CHECK(checksums.repair_checksums);
  CHECK_FALSE(checksums.repair_version);

  const Config rollback = parse_config({"rollback", "--to", "3"}, k_no_env);
  CHECK(rollback.command == Command::rollback);
  CHECK(rollback.rollback_to == std::optional<std::string>("3"));
  CHECK_FALSE(parse_config({"rollback"}, k_no_env).rollback_to);

  CHECK(parse_config({"plan", "--json"}, k_no_env).json);
  CHECK(parse_config({"verify"}, k_no_env).command == Command::verify);
}

TEST_CASE("parse_config reads the safety settings") {
  const Config defaults = parse_config({"migrate"}, k_no_env);
  CHECK_FALSE(defaults.allow_drift);
  CHECK_FALSE(defaults.allow_out_of_order);
  CHECK_FALSE(defaults.baseline);
  CHECK(defaults.db_lock_timeout == milliseconds(5000));
  CHECK(defaults.db_lock_retries == 6);
  CHECK(defaults.statement_timeout == milliseconds(0));

  const Config set = parse_config({"migrate", "--allow-drift"},
                                  env_from({{"AUTO_MIGRATE_ALLOW_OUT_OF_ORDER", "yes"}, {"AUTO_MIGRATE_BASELINE", "012"},
                                            {"AUTO_MIGRATE_DB_LOCK_TIMEOUT", "0.25"}, {"AUTO_MIGRATE_DB_LOCK_RETRIES", "3"},
                                            {"AUTO_MIGRATE_STATEMENT_TIMEOUT", "60"}}));
  CHECK(set.allow_drift);
  CHECK(set.allow_out_of_order);
  CHECK(set.baseline == std::optional<std::string>("012"));
  CHECK(set.db_lock_timeout == milliseconds(250));
  CHECK(set.db_lock_retries == 3);
  CHECK(set.statement_timeout == milliseconds(60000));

  CHECK(usage_error_message({"migrate"}, env_from({{"AUTO_MIGRATE_BASELINE", "v1"}})) ==
        "AUTO_MIGRATE_BASELINE: \"v1\" is not a migration version (digits, e.g. 003)");
  CHECK(usage_error_message({"migrate"}, env_from({{"AUTO_MIGRATE_DB_LOCK_RETRIES", "0"}})) ==
        "AUTO_MIGRATE_DB_LOCK_RETRIES: \"0\" is not a number of attempts from 1 to 1000");
}

TEST_CASE("parse_config refuses boot contracts with tenants, and server timeouts PostgreSQL cannot take") {
  CHECK(usage_error_message({"--", "x"}, env_from({{"AUTO_MIGRATE_SCHEMAS", "a,b"}, {"AUTO_MIGRATE_REQUIRED", "all"}}))
            .find("cannot be combined with tenant schemas") != std::string::npos);
  CHECK(usage_error_message({"--", "x"}, env_from({{"AUTO_MIGRATE_DB_LOCK_TIMEOUT", "3000000"}})) ==
        "AUTO_MIGRATE_DB_LOCK_TIMEOUT: \"3000000\" is more than PostgreSQL allows (2147483 seconds)");
  CHECK(parse_config({"--", "x"}, env_from({{"AUTO_MIGRATE_STATEMENT_TIMEOUT", "2147483"}})).statement_timeout ==
        milliseconds(2147483000));
}

TEST_CASE("parse_config refuses an unknown option itself, whatever its name holds") {
  // Boost.Program_options loops forever formatting an error for this name (found by fuzzing).
  CHECK(usage_error_message({"--x%canonical_option%", "migrate"}, k_no_env) ==
        "unknown option \"--x%canonical_option%\" (see migrate-init --help)");
  CHECK(usage_error_message({"-%canonical_option%"}, k_no_env).find("unknown option") == 0);
  CHECK(usage_error_message({"--bogus=1", "--", "x"}, k_no_env) == "unknown option \"--bogus=1\" (see migrate-init --help)");
}

// docs/reference.md's settings table is written by hand from the same table as --help: the
// same variables in the same order, each with its flag and default (backticks aside).
TEST_CASE("docs/reference.md's settings table lists exactly the settings table's rows, flags and defaults") {
  std::ifstream in(std::filesystem::path(MIGRATE_INIT_SOURCE_DIR) / "docs" / "reference.md");
  REQUIRE(in);
  struct Row {
    std::string env, flag, default_text;
  };
  std::vector<Row> documented;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Settings";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream cells_in(line.substr(1));
    for (std::string cell; std::getline(cells_in, cell, '|');) {
      std::string bare;
      for (char c : cell) {
        if (c != '`') bare += c;
      }
      bare.erase(0, bare.find_first_not_of(' '));
      bare.erase(bare.find_last_not_of(' ') + 1);
      cells.push_back(bare);
    }
    REQUIRE(cells.size() >= 3);
    documented.push_back({cells[0], cells[1], cells[2]});
  }
  const auto table = settings_table();
  REQUIRE(documented.size() == table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    CAPTURE(table[i].env);
    CHECK(documented[i].env == table[i].env);
    CHECK(documented[i].flag == std::string("--") + table[i].flag + (table[i].is_boolean ? "[=BOOL]" : ""));
    CHECK(documented[i].default_text == table[i].default_text);
  }
}
