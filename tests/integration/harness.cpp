#include "harness.hpp"

#include "../support/process_state.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;

namespace test {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string json_array(const std::vector<std::string>& words) {
  std::string out = "[";
  for (const auto& word : words) {
    if (out.size() > 1) out += ",";
    out += "\"";
    for (const char c : word) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "]";
}

fs::path fixture_source(const std::string& name) {
  return example_migrations().parent_path() / "tests" / "fixtures" / name;
}

// Polls `condition` every 20 ms until it holds; false after `timeout`.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// The state letter and process group of a process from /proc/<pid>/stat; state 0 if it is gone.
std::pair<char, long> process_state(const std::string& pid) {
  const std::string stat = test_support::proc_stat(static_cast<pid_t>(std::stol(pid)));
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {0, 0};
  std::istringstream rest(stat.substr(close + 1));
  char state = 0;
  long parent = 0, group = 0;
  rest >> state >> parent >> group;
  return {state, group};
}

bool alive(long pid) {
  const char state = process_state(std::to_string(pid)).first;
  return state != 0 && state != 'Z' && state != 'X';
}

// Live (not zombie) processes in process group `group`.
int live_in_group(long group) {
  int live = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(c) != 0; })) continue;
    const auto [state, process_group] = process_state(name);
    live += state != 0 && state != 'Z' && state != 'X' && process_group == group;
  }
  return live;
}

std::map<std::string, std::string> env_for(const std::string& database, const fs::path& dir) {
  return {{"DATABASE_URL", shared_server().url(database)}, {"AUTO_MIGRATE_DIR", dir.string()}};
}

std::string ledger_versions(const std::string& database, const std::string& table) {
  return shared_server().scalar(database, "SELECT coalesce(string_agg(version, ',' ORDER BY version), '') FROM " + table);
}

std::string lock_key_logged(const std::string& log) {
  const std::string prefix = "taking the migration lock (key ";
  const auto at = log.find(prefix);
  if (at == std::string::npos) return "";
  const auto start = at + prefix.size();
  return log.substr(start, log.find(')', start) - start);
}

std::string sleeping_backends(const std::string& db) {
  return shared_server().scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db +
                                        "' AND state = 'active' AND query LIKE 'SELECT pg_sleep%'");
}

} // namespace test
