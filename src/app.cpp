#include "app.hpp"

#include "config.hpp"
#include "error.hpp"
#include "log.hpp"
#include "migrate/boot_contract.hpp"
#include "migrate/maintenance.hpp"
#include "migrate/migrator.hpp"
#include "migrate/status.hpp"
#include "pg/connect.hpp"
#include "process/exec.hpp"
#include "process/signal_channel.hpp"
#include "process/supervisor.hpp"
#include "version.hpp"

#include <spdlog/spdlog.h>

#include <stdlib.h>
#include <unistd.h>

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
  } catch (const Interrupted&) {
    throw; // the container is being stopped: never start the service now
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

bool supervises(RunMode mode) {
  return mode == RunMode::supervise || (mode == RunMode::automatic && getpid() == 1);
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
    return print_status(config);
  case Command::plan:
    return print_plan(config);
  case Command::verify:
    return print_verify(config);
  case Command::repair:
    return repair(config);
  case Command::rollback:
    return rollback(config);
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
  // Required migrations and wait-for-schema hold whatever FAIL_ON_ERROR says.
  enforce_boot_contract(config);
  // A stop signal that came in as the migrations finished still means "stop".
  signal_channel::drain("migrating");
  // The service never holds migrate-init's DDL credentials.
  for (const char* name : k_migration_only_variables) unsetenv(name);
  if (supervises(config.mode)) {
    return supervise(config.service_command, {config.process_group, config.stop_timeout});
  }
  exec_command(config.service_command);
}

} // namespace

int run(const std::vector<std::string>& args) {
  setup_logging("info");
  try {
    const Config config = parse_config(args, process_environment());
    setup_logging(config.log_level);
    // From here on signals are read, not delivered: a stop signal can end a migration
    // cleanly, and as PID 1 none is ignored by the kernel.
    if (config.command != Command::help && config.command != Command::version) signal_channel::take_over();
    pg::validate_database_url(config.database_url, config.database_url_source);
    pg::validate_database_url(config.migrate_database_url, config.migrate_database_url_source);
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
