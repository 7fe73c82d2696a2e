#include "process/exec.hpp"

#include "error.hpp"
#include "log.hpp"
#include "process/protection.hpp"
#include "process/signal_channel.hpp"
#include "setting_values.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace migrate_init {

void exec_command(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  flush_logs();
  signal_channel::restore_original_mask();
  restore_core_limit();
  execvp(argv[0], argv.data());
  throw_exec_failure(command[0], errno);
}

void throw_exec_failure(const std::string& program, int error) {
  const std::string what = "cannot run " + quote_value(program) + ": ";
  if (error == ENOENT || error == ENOTDIR) {
    throw Error(ExitCode::not_found,
                what + (program.find('/') == std::string::npos ? "command not found in PATH" : "no such file"));
  }
  throw Error(ExitCode::not_executable, what + std::strerror(error));
}

} // namespace migrate_init
