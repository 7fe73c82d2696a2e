#include "process/spawn.hpp"

#include "process/exec.hpp"
#include "process/protection.hpp"
#include "process/signal_channel.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace migrate_init {
namespace {

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void become_service(char* const* argv, int error_pipe) {
  setpgid(0, 0);
  // SIGTTOU is still blocked here, so taking the terminal cannot stop the child.
  if (isatty(STDIN_FILENO)) tcsetpgrp(STDIN_FILENO, getpgrp());
  signal_channel::restore_original_mask();
  restore_core_limit();
  execvp(argv[0], argv);
  const int error = errno;
  [[maybe_unused]] const ssize_t ignored = write(error_pipe, &error, sizeof error);
  _exit(127);
}

} // namespace

pid_t spawn_service(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (child == 0) become_service(argv.data(), error_pipe[1]);

  setpgid(child, child); // also here, so a signal to the group right after fork finds it
  close(error_pipe[1]);
  int exec_error = 0;
  ssize_t got;
  do {
    got = read(error_pipe[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  close(error_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    waitpid(child, nullptr, 0);
    throw_exec_failure(command[0], exec_error);
  }
  return child;
}

} // namespace migrate_init
