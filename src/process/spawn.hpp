#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace migrate_init {

// Starts `command` as a child (PATH searched when it has no '/'), with the environment,
// standard streams and argv unchanged. The child gets its own process group, becomes the
// terminal's foreground group when stdin is a terminal (as tini does, so `docker run -it`
// works), and gets migrate-init's original signal mask back before exec. An exec failure
// is reported back through a close-on-exec pipe and thrown as Error: 127 not found,
// 126 not executable. Returns the child's pid.
pid_t spawn_service(const std::vector<std::string>& command);

} // namespace migrate_init
