#pragma once

#include <string>
#include <vector>

namespace test {

// A throwaway PostgreSQL server (Debian's postgresql package) on a free loopback port,
// run as the postgres user when the tests run as root. Password (SCRAM) authentication
// over TCP, as in production; stopped and deleted on destruction.
class PgServer {
public:
  static constexpr const char* k_password = "hunter2-Sup3r-secret";

  PgServer();  // initdb only; call start()
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  void start();
  void stop();
  // A fast shutdown (every session is terminated, as in a real restart), then start().
  void restart();
  int port() const { return m_port; }
  // The addresses start() makes the server listen on (default "127.0.0.1"), for example
  // "127.0.0.1,127.0.0.2" to give a second route to the same server.
  void listen_on(const std::string& addresses) { m_listen_addresses = addresses; }

  // postgresql://postgres:<password>@127.0.0.1:<port>/<database>
  std::string url(const std::string& database = "postgres") const;
  // The same through another of the addresses it listens on.
  std::string url_via(const std::string& host, const std::string& database) const;
  // The same over the server's Unix socket (trust authentication, no password).
  std::string socket_url(const std::string& database) const;
  // Creates a fresh database and returns its name (test_1, test_2, ...).
  std::string create_database();

  // Runs SQL as the superuser; returns the rows of the last statement, each column as
  // text ("" for NULL).
  std::vector<std::vector<std::string>> query(const std::string& database, const std::string& sql) const;
  // The single value of a one-row, one-column query.
  std::string scalar(const std::string& database, const std::string& sql) const;

private:
  std::string m_dir;
  std::string m_listen_addresses = "127.0.0.1";
  int m_port = 0;
  bool m_running = false;
  int m_databases = 0;
};

// One open connection, for holding locks or transactions while migrate-init runs.
class Session {
public:
  Session(const PgServer& server, const std::string& database, const std::string& application_name);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // Runs SQL; returns the first value of the last result ("" if none).
  std::string exec(const std::string& sql);

private:
  void* m_connection; // PGconn*, kept out of this header
};

// The server shared by every test of one test program, started on first use.
PgServer& shared_server();

// A free TCP port on 127.0.0.1 (nothing listens on it right after this returns).
int free_port();

} // namespace test
