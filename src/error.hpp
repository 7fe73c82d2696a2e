#pragma once

#include "exit_code.hpp"

#include <stdexcept>
#include <string>

namespace migrate_init {

// An error that knows which documented exit code it ends in. The message is one line,
// ready to log; app.cpp is the one place that turns these into log lines and exit codes.
class Error : public std::runtime_error {
public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}
  ExitCode code() const { return m_code; }

private:
  ExitCode m_code;
};

// A bad setting, flag or command line: always exit 2, whatever FAIL_ON_ERROR says.
class UsageError : public Error {
public:
  explicit UsageError(const std::string& message) : Error(ExitCode::usage, message) {}
};

} // namespace migrate_init
