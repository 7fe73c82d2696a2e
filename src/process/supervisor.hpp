#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace migrate_init {

struct SuperviseOptions {
  bool process_group = false;            // forward to the child's whole process group
  std::chrono::milliseconds stop_timeout{0}; // SIGKILL this long after SIGTERM/SIGINT; 0: never
};

// Runs `command` as a child and stays as its parent, doing what PID 1 must: forwards
// every forwardable signal (signal_policy.hpp), reaps every exited child including
// orphans re-parented to it, and returns when the service exits, with its exit code or
// 128+N when signal N killed it. Not PID 1, it becomes a child subreaper so orphans still
// come back to it. The only caller of waitpid(-1) in migrate-init.
int supervise(const std::vector<std::string>& command, const SuperviseOptions& options);

} // namespace migrate_init
