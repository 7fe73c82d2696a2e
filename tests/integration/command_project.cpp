#include "command_project.hpp"

#include <algorithm>
#include <cctype>

using namespace std::chrono_literals;

namespace test {

std::map<std::string, std::string> with(std::map<std::string, std::string> base,
                                        const std::map<std::string, std::string>& extra) {
  for (const auto& [name, value] : extra) base.insert_or_assign(name, value);
  return base;
}

Invocation service(const Project& project, const std::map<std::string, std::string>& env) {
  return Invocation({"--", "echo", "started"}, env, "", project.root());
}

std::string migrator_sessions(const std::string& db) {
  return shared_server().scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db +
                                        "' AND application_name LIKE 'migrate-init-migrator%'");
}

std::string advisory_locks(const std::string& db) {
  return shared_server().scalar(db, "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                                    "WHERE l.locktype = 'advisory' AND d.datname = '" + db + "'");
}

bool lock_released(const std::string& db) {
  return eventually([&] { return advisory_locks(db) == "0"; }, 1s);
}

// Any sign of a failure in a log: migrate-init's own error lines, a migrator's ERROR or traceback.
bool logged_error(std::string log) {
  std::transform(log.begin(), log.end(), log.begin(), [](unsigned char c) { return std::tolower(c); });
  return contains(log, "error") || contains(log, "traceback") || contains(log, "fatal");
}

void check_no_password(const Outcome& outcome, const std::string& password) {
  CHECK_MESSAGE(!contains(outcome.err, password), outcome.err);
  CHECK_MESSAGE(!contains(outcome.out, password), outcome.out);
}

} // namespace test
