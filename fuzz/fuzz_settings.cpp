// Fuzzes parse_config: the command line and the environment.
//
// Input layout: ARGS [0x1E ENV]
//   ARGS: the arguments (without argv[0]), separated by '\0'; a trailing '\0' ends the
//         last one rather than starting an empty one
//   ENV:  after the first 0x1E byte (ASCII record separator), lines NAME=VALUE; a line
//         without '=' is skipped, and the first of several lines with one NAME wins
// *_FILE variables read a fixed secret: nothing here touches the file system.
//
// migrate_init::UsageError is the expected way to refuse input. Any other exception is a
// finding: it escapes, and libFuzzer reports the uncaught exception (abort) as a crash.
// A Config that parse_config returns must also keep the promises below (else a trap).

#include "config.hpp"
#include "error.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr char k_env_separator = '\x1e';
constexpr const char* k_secret = "postgres://migrator:s3cret@db:5432/app";

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> split_args(std::string_view text) {
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nul = std::min(text.find('\0', start), text.size());
    args.emplace_back(text.substr(start, nul - start));
    start = nul + 1;
  }
  return args;
}

std::map<std::string, std::string> split_env(std::string_view text) {
  std::map<std::string, std::string> env;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t newline = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, newline - start);
    if (const std::size_t equals = line.find('='); equals != std::string_view::npos) {
      env.emplace(std::string(line.substr(0, equals)), std::string(line.substr(equals + 1)));
    }
    start = newline + 1;
  }
  return env;
}

void check_config(const migrate_init::Config& config) {
  using migrate_init::Command;
  if (config.command == Command::help || config.command == Command::version) return;
  if (config.command == Command::run) check(!config.service_command.empty());
  if (config.command == Command::repair) {
    check(config.repair_version && all_digits(*config.repair_version));
    check(config.repair_applied != config.repair_retry);
  } else {
    check(!config.repair_version && !config.repair_applied && !config.repair_retry);
  }
  if (config.rollback_to) check(config.command == Command::rollback && all_digits(*config.rollback_to));
  if (config.baseline) check(all_digits(*config.baseline));

  check(config.db_lock_retries >= 1 && config.db_lock_retries <= 1000);
  for (const auto timeout : {config.wait, config.lock_timeout, config.stop_timeout, config.db_lock_timeout,
                             config.statement_timeout, config.wait_for_schema}) {
    check(timeout.count() >= 0);
  }
  check(config.db_lock_timeout.count() <= 2147483647 && config.statement_timeout.count() <= 2147483647);

  const bool tenants = !config.schemas.empty() || !config.schemas_query.empty();
  check(!(config.schemas.size() > 0 && !config.schemas_query.empty()));
  check(!(tenants && config.lock_key));
  check(!(tenants && (!config.required.empty() || config.wait_for_schema.count() > 0)));
  for (const auto* list : {&config.schemas, &config.required}) {
    for (const auto& item : *list) {
      check(!item.empty());
      check(item.front() != ' ' && item.front() != '\t' && item.back() != ' ' && item.back() != '\t');
      check(item.find(',') == std::string::npos);
    }
  }
  check(config.log_level == "debug" || config.log_level == "info" || config.log_level == "warn" ||
        config.log_level == "error");
  check(!config.ledger.table.empty() && config.ledger.table.size() <= 63);
  if (config.ledger.schema) check(!config.ledger.schema->empty() && config.ledger.schema->size() <= 63);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t separator = input.find(k_env_separator);
  const std::vector<std::string> args = split_args(input.substr(0, separator));
  const std::map<std::string, std::string> variables =
      separator == std::string_view::npos ? std::map<std::string, std::string>{} : split_env(input.substr(separator + 1));

  const migrate_init::EnvLookup env = [&variables](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
  const migrate_init::SecretFileReader read_file = [](const std::string&, const std::string&) {
    return std::string(k_secret);
  };

  try {
    check_config(migrate_init::parse_config(args, env, read_file));
  } catch (const migrate_init::UsageError& e) {
    check(e.code() == migrate_init::ExitCode::usage);
  }
  return 0;
}
