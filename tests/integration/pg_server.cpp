#include "pg_server.hpp"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace test {
namespace {

const std::string k_bin = "/usr/lib/postgresql/15/bin/";

// initdb and the server refuse to run as root: run them as postgres then.
std::string as_server_user(const std::string& command) {
  return geteuid() == 0 ? "runuser -u postgres -- " + command : command;
}

void run_or_throw(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("test harness: command failed: " + command);
}

} // namespace

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("test harness: no free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

PgServer::PgServer() {
  char pattern[] = "/tmp/migrate-init-pg-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error("test harness: mkdtemp failed");
  m_dir = pattern;
  m_port = free_port();
  std::ofstream(m_dir + "/pwfile") << k_password << "\n";
  if (geteuid() == 0) run_or_throw("chown -R postgres: " + m_dir);
  run_or_throw(as_server_user(k_bin + "initdb -D " + m_dir + "/data -U postgres --pwfile=" + m_dir +
                              "/pwfile --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >" + m_dir +
                              "/initdb.log 2>&1"));
}

PgServer::~PgServer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(m_dir, ignored);
}

void PgServer::start() {
  if (m_running) return;
  const std::string options = "-p " + std::to_string(m_port) + " -k " + m_dir +
                              " -c listen_addresses=" + m_listen_addresses + " -c fsync=off -c synchronous_commit=off"
                              " -c full_page_writes=off -c max_connections=60";
  run_or_throw(as_server_user(k_bin + "pg_ctl -D " + m_dir + "/data -l " + m_dir + "/server.log -w -o '" + options +
                              "' start >/dev/null"));
  m_running = true;
}

void PgServer::stop() {
  if (!m_running) return;
  m_running = false;
  std::system(as_server_user(k_bin + "pg_ctl -D " + m_dir + "/data -m immediate -w stop >/dev/null 2>&1").c_str());
}

void PgServer::restart() {
  if (m_running) {
    m_running = false;
    run_or_throw(as_server_user(k_bin + "pg_ctl -D " + m_dir + "/data -m fast -w stop >/dev/null"));
  }
  start();
}

std::string PgServer::url(const std::string& database) const { return url_via("127.0.0.1", database); }

std::string PgServer::url_via(const std::string& host, const std::string& database) const {
  return "postgresql://postgres:" + std::string(k_password) + "@" + host + ":" + std::to_string(m_port) + "/" + database;
}

std::string PgServer::socket_url(const std::string& database) const {
  return "postgresql://postgres@/" + database + "?host=" + m_dir + "&port=" + std::to_string(m_port);
}

std::string PgServer::create_database() {
  const std::string name = "test_" + std::to_string(++m_databases);
  query("postgres", "CREATE DATABASE " + name);
  return name;
}

std::vector<std::vector<std::string>> PgServer::query(const std::string& database, const std::string& sql) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(url(database).c_str()), &PQfinish);
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    throw std::runtime_error("test harness: cannot connect: " + std::string(PQerrorMessage(connection.get())));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection.get(), sql.c_str()), &PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error("test harness: " + sql + ": " + PQresultErrorMessage(result.get()));
  }
  std::vector<std::vector<std::string>> rows;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    rows.emplace_back();
    for (int column = 0; column < PQnfields(result.get()); ++column) {
      rows.back().emplace_back(PQgetvalue(result.get(), row, column));
    }
  }
  return rows;
}

std::string PgServer::scalar(const std::string& database, const std::string& sql) const {
  const auto rows = query(database, sql);
  if (rows.size() != 1 || rows[0].size() != 1) throw std::runtime_error("test harness: not one value: " + sql);
  return rows[0][0];
}

Session::Session(const PgServer& server, const std::string& database, const std::string& application_name)
    : m_connection(PQconnectdb((server.url(database) + "?application_name=" + application_name).c_str())) {
  if (PQstatus(static_cast<PGconn*>(m_connection)) != CONNECTION_OK) {
    throw std::runtime_error("test harness: session cannot connect");
  }
}

Session::~Session() { PQfinish(static_cast<PGconn*>(m_connection)); }

std::string Session::exec(const std::string& sql) {
  auto* connection = static_cast<PGconn*>(m_connection);
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection, sql.c_str()), &PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error("test harness: " + sql + ": " + PQresultErrorMessage(result.get()));
  }
  return PQntuples(result.get()) > 0 ? PQgetvalue(result.get(), 0, 0) : "";
}

PgServer& shared_server() {
  static PgServer server;
  server.start();
  return server;
}

} // namespace test
