#include "pgbouncer.hpp"

#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace test {

PgBouncer::PgBouncer(const std::string& pool_mode) : m_port(free_port()) {
  const std::string dir = m_dir.path().string();
  std::ofstream(dir + "/userlist.txt") << "\"postgres\" \"" << PgServer::k_password << "\"\n";
  std::ofstream(dir + "/pgbouncer.ini")
      << "[databases]\n* = host=127.0.0.1 port=" << shared_server().port() << "\n"
      << "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << m_port << "\nunix_socket_dir =\n"
      << "auth_type = trust\nauth_file = " << dir << "/userlist.txt\npool_mode = " << pool_mode << "\n"
      << "pidfile = " << dir << "/pgbouncer.pid\nlogfile = " << dir << "/pgbouncer.log\n"
      << "default_pool_size = 4\nignore_startup_parameters = extra_float_digits\n";
  const std::string as_user = geteuid() == 0 ? "chown -R postgres: " + dir + " && runuser -u postgres -- " : "";
  REQUIRE(std::system((as_user + "pgbouncer -d -q " + dir + "/pgbouncer.ini").c_str()) == 0);
  for (int i = 0; i < 200 && !std::filesystem::exists(dir + "/pgbouncer.pid"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

PgBouncer::~PgBouncer() {
  std::ifstream pidfile(m_dir.path() / "pgbouncer.pid");
  pid_t pid = 0;
  if (pidfile >> pid && pid > 0) kill(pid, SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

std::string PgBouncer::url(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(m_port) + "/" + db;
}

} // namespace test
