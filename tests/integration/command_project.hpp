#pragma once
// What the command-mode tests share: a private copy of a fixture project whose migrator runs
// behind a recording wrapper, and what they ask of processes and of the server about it.
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace test {

namespace fs = std::filesystem;

// A private copy of a fixture, plus a records folder the wrapper writes to.
class Project {
public:
  explicit Project(const std::string& fixture) : m_root(m_dir.path() / "project"), m_records(m_dir.path() / "records") {
    const fs::path source = fixture_source(fixture);
    REQUIRE_MESSAGE(fs::is_directory(source), "no fixture at " << source);
    copy_tree(source, m_root);
    if (fs::exists(source / "node_modules")) fs::create_directory_symlink(source / "node_modules", m_root / "node_modules");
    fs::create_directories(m_records);
    write_wrapper();
  }

  const fs::path& root() const { return m_root; }
  fs::path migrations() const { return m_root / "migrations"; }
  const fs::path& records() const { return m_records; }
  std::string wrapper() const { return (m_records / "migrator.sh").string(); }

  // The exec form (a JSON array) of `argv` run behind the wrapper.
  std::string command(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), wrapper());
    return json_array(argv);
  }

  // One line per migrator start: "<pid> <AUTO_MIGRATE_SCHEMA>".
  std::vector<std::string> starts() const { return lines_of(read_file(m_records / "starts")); }
  long first_migrator_pid() const {
    const auto all = starts();
    return all.empty() ? 0 : std::stol(all.front());
  }
  // The environment the migrator with this pid started with, one NAME=value a line.
  std::vector<std::string> migrator_environment(long pid) const {
    return lines_of(read_file(m_records / ("migrator.env." + std::to_string(pid))));
  }
  std::string migrator_stdin(long pid) const {
    return read_file(m_records / ("migrator.stdin." + std::to_string(pid)));
  }

  void write(const std::string& relative, const std::string& contents) const {
    std::ofstream(m_root / relative, std::ios::binary) << contents;
  }
  void remove(const std::string& relative) const { REQUIRE(fs::remove(m_root / relative)); }

private:
  static void copy_tree(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    for (const auto& entry : fs::directory_iterator(from)) {
      const std::string name = entry.path().filename().string();
      if (name == "node_modules" || name == "__pycache__") continue;
      if (entry.is_directory()) {
        copy_tree(entry.path(), to / name);
      } else {
        fs::copy_file(entry.path(), to / name);
      }
    }
  }

  void write_wrapper() const {
    const std::string records = m_records.string();
    std::ofstream(wrapper()) << "#!/bin/sh\n"
                             << "# Records this start and what it was given, then becomes the real migrator.\n"
                             << "echo \"$$ ${AUTO_MIGRATE_SCHEMA:-}\" >> " << records << "/starts\n"
                             << "env > " << records << "/migrator.env.$$\n"
                             << "readlink /proc/self/fd/0 > " << records << "/migrator.stdin.$$\n"
                             << "echo \"migrator sees DATABASE_URL=$DATABASE_URL\"\n"
                             << "exec \"$@\"\n";
    fs::permissions(wrapper(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  }

  TempDir m_dir;
  fs::path m_root;
  fs::path m_records;
};

// `base` with the entries of `extra` added or replaced.
std::map<std::string, std::string> with(std::map<std::string, std::string> base,
                                        const std::map<std::string, std::string>& extra);
// migrate-init in the project's root, with `env`, in front of `echo started`.
Invocation service(const Project& project, const std::map<std::string, std::string>& env);

// Sessions of this database tagged as a migrator's, and advisory locks held in it.
std::string migrator_sessions(const std::string& db);
std::string advisory_locks(const std::string& db);
// Whether the database's advisory locks are all gone within a second.
bool lock_released(const std::string& db);
// Any sign of a failure in a log: migrate-init's own error lines, a migrator's ERROR or traceback.
bool logged_error(std::string log);
// Neither output holds the password.
void check_no_password(const Outcome& outcome, const std::string& password = PgServer::k_password);

} // namespace test
