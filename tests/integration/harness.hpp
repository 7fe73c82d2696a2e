#pragma once
// What the integration and reliability tests share beyond the server (pg_server.hpp) and the
// binary (binary.hpp): text and file helpers, polling, processes, and the usual questions
// asked of a database the binary migrated. One copy here instead of one per test file.
#include "binary.hpp"
#include "pg_server.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace test {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& needle);
std::string read_file(const fs::path& path);
std::vector<std::string> lines_of(const std::string& text);
// The words as a JSON array of strings: AUTO_MIGRATE_COMMAND's exec form.
std::string json_array(const std::vector<std::string>& words);
// tests/fixtures/<name> in the checkout.
fs::path fixture_source(const std::string& name);

// Polls `condition` every 20 ms until it holds; false after `timeout`.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);
// The state letter and process group of a process from /proc/<pid>/stat; state 0 if it is gone.
std::pair<char, long> process_state(const std::string& pid);
bool alive(long pid);
// Live (not zombie) processes in process group `group`.
int live_in_group(long group);

// The environment of a .sql-engine run: `database` on the shared server, the files in `dir`.
std::map<std::string, std::string> env_for(const std::string& database, const fs::path& dir);
// The ledger's versions in order, comma-separated ("" when it is empty).
std::string ledger_versions(const std::string& database, const std::string& table = "schema_migrations");
// The key in "taking the migration lock (key N)", or "" when the log has no such line.
std::string lock_key_logged(const std::string& log);
// How many sessions of `db` are running a `SELECT pg_sleep...` (a slow migration, a fixture's
// SLOW_MIGRATION_SECONDS) right now, as the server counts them.
std::string sleeping_backends(const std::string& db);

} // namespace test
