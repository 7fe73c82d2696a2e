#pragma once

namespace migrate_init {

// Keeps the DDL credentials in migrate-init's memory out of reach from its first moment, in
// every subcommand: not dumpable (no core file, no /proc/<pid>/environ or mem for other
// users, no ptrace by them) and a core size limit of 0. The service gets the core limit
// migrate-init started with back (restore_core_limit), and exec makes it dumpable again.
void protect_process_memory();

// Puts back the soft core size limit migrate-init started with. Async-signal-safe: for the
// child between fork and exec, and before exec in place.
void restore_core_limit();

// Overwrites the value of every copy of `name` in the environment block, then removes
// them all. A block may hold a variable twice (execve takes any list); /proc/<pid>/environ
// shows the block as the process started, so unsetenv alone would leave the values there.
void wipe_environment_variable(const char* name);

} // namespace migrate_init
