#pragma once

#include "binary.hpp"

#include <string>

namespace test {

// Debian's pgbouncer on a free loopback port in front of the shared server, in `pool_mode`
// (session or transaction), with its default startup-parameter policy (it refuses
// `options`); stopped on destruction.
class PgBouncer {
public:
  explicit PgBouncer(const std::string& pool_mode);
  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;
  // postgresql://postgres@127.0.0.1:<port>/<db> (auth_type trust between client and pooler).
  std::string url(const std::string& db) const;

private:
  TempDir m_dir;
  int m_port;
};

} // namespace test
