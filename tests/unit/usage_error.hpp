#pragma once

#include "error.hpp"

#include <doctest/doctest.h>

#include <string>

namespace test {

// Runs `fn`, which must throw migrate_init::UsageError (exit 2); returns its message, and
// fails the test if it throws anything else or nothing.
template <class Fn>
std::string usage_error_message_of(Fn&& fn) {
  try {
    fn();
  } catch (const migrate_init::UsageError& e) {
    CHECK(e.code() == migrate_init::ExitCode::usage);
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected UsageError, got another exception: " << e.what());
    return {};
  }
  FAIL("expected UsageError, nothing was thrown");
  return {};
}

} // namespace test
