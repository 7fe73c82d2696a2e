#include "process/protection.hpp"

#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace migrate_init {
namespace {

struct CoreLimit {
  bool saved = false;
  rlimit original{};
};

CoreLimit& core_limit() {
  static CoreLimit instance;
  return instance;
}

} // namespace

void protect_process_memory() {
  prctl(PR_SET_DUMPABLE, 0);
  CoreLimit& limit = core_limit();
  if (!limit.saved && getrlimit(RLIMIT_CORE, &limit.original) == 0) {
    limit.saved = true;
    // Only the soft limit: lowering the hard one could not be undone for the service.
    rlimit none = limit.original;
    none.rlim_cur = 0;
    setrlimit(RLIMIT_CORE, &none);
  }
}

void restore_core_limit() {
  const CoreLimit& limit = core_limit();
  if (limit.saved) setrlimit(RLIMIT_CORE, &limit.original);
}

void wipe_environment_variable(const char* name) {
  const std::size_t length = std::strlen(name);
  for (char** entry = environ; entry && *entry; ++entry) {
    if (std::strncmp(*entry, name, length) == 0 && (*entry)[length] == '=') {
      char* value = *entry + length + 1;
      std::memset(value, 0, std::strlen(value));
    }
  }
  unsetenv(name); // glibc removes every entry of that name
}

} // namespace migrate_init
