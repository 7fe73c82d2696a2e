#include "app.hpp"

#include "config.hpp"
#include "error.hpp"
#include "log.hpp"
#include "migrate/migrator.hpp"
#include "migrate/status.hpp"
#include "pg/connect.hpp"
#include "process/exec.hpp"
#include "version.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

namespace migrate_init {
namespace {

// Runs the migration phase for `run`: a failure ends the process only with FAIL_ON_ERROR.
int migrate_before_service(const Config& config) {
  try {
    migrate(config);
    return to_int(ExitCode::ok);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    if (config.fail_on_error) {
      spdlog::error("not starting the service (AUTO_MIGRATE_FAIL_ON_ERROR=true); exit code {}", to_int(e.code()));
      return to_int(e.code());
    }
    spdlog::warn("starting the service anyway (AUTO_MIGRATE_FAIL_ON_ERROR=false)");
    return to_int(ExitCode::ok);
  }
}

int dispatch(const Config& config) {
  switch (config.command) {
  case Command::help:
    std::cout << help_text();
    return to_int(ExitCode::ok);
  case Command::version:
    std::cout << "migrate-init " << k_version << "\n";
    return to_int(ExitCode::ok);
  case Command::status:
    print_status(config);
    return to_int(ExitCode::ok);
  case Command::migrate:
    migrate(config);
    return to_int(ExitCode::ok);
  case Command::run:
    break;
  }
  if (config.auto_migrate) {
    if (const int code = migrate_before_service(config); code != to_int(ExitCode::ok)) return code;
  } else {
    spdlog::debug("AUTO_MIGRATE is off: not connecting to the database");
  }
  exec_command(config.service_command);
}

} // namespace

int run(const std::vector<std::string>& args) {
  setup_logging("info");
  try {
    const Config config = parse_config(args, process_environment());
    setup_logging(config.log_level);
    pg::validate_database_url(config.database_url, config.database_url_source);
    return dispatch(config);
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return to_int(e.code());
  } catch (const std::exception& e) {
    spdlog::error("unexpected error: {}", e.what());
    return to_int(ExitCode::migration_failed);
  }
}

} // namespace migrate_init
