// Command mode against what other roles and odd settings can do (issue 19): a session of
// another role that carries the migrator's tag, a same-role session this one may not signal,
// and a command that is not UTF-8. The built binary, a real PostgreSQL, a shell migrator.
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <libpq-fe.h>

#include <array>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

using test::contains;
using test::shared_server;

namespace {

const char* const k_password = "Tagged-s3ssion-pw";
// Set explicitly, so the test knows the tag: migrate-init-migrator <key> <pid>@<host>.
const char* const k_lock_key = "4646";
const std::string k_tag_prefix = std::string("migrate-init-migrator ") + k_lock_key + " ";

// Creates a LOGIN role with the test password, unless the shared server has it already.
void create_role(const std::string& db, const std::string& name, const std::string& attributes = "") {
  shared_server().query(db, "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + name +
                                "') THEN CREATE ROLE " + name + " LOGIN " + attributes + " PASSWORD '" + k_password +
                                "'; END IF; END$$");
}

std::string url_as(const std::string& role, const std::string& db) {
  return "postgresql://" + role + ":" + k_password + "@127.0.0.1:" + std::to_string(shared_server().port()) + "/" + db;
}

// A session logged in as `role` with `application_name`, held open as someone else's client
// would hold it.
class RoleSession {
public:
  RoleSession(const std::string& db, const std::string& role, const std::string& application_name)
      : m_connection(PQconnectdbParams(keywords().data(), values(db, role, application_name).data(), 0), &PQfinish) {
    REQUIRE_MESSAGE(PQstatus(m_connection.get()) == CONNECTION_OK, PQerrorMessage(m_connection.get()));
  }
  int pid() const { return PQbackendPID(m_connection.get()); }
  // Whether the server still serves it: a terminated session fails its next statement.
  bool alive() const {
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(m_connection.get(), "SELECT 1"), &PQclear);
    return PQresultStatus(result.get()) == PGRES_TUPLES_OK;
  }

private:
  static std::array<const char*, 7> keywords() {
    return {"host", "port", "dbname", "user", "password", "application_name", nullptr};
  }
  std::array<const char*, 7> values(const std::string& db, const std::string& role, const std::string& name) {
    m_port = std::to_string(shared_server().port());
    m_db = db;
    m_role = role;
    m_name = name;
    return {"127.0.0.1", m_port.c_str(), m_db.c_str(), m_role.c_str(), k_password, m_name.c_str(), nullptr};
  }

  std::string m_port, m_db, m_role, m_name; // kept alive for PQconnectdbParams
  std::unique_ptr<PGconn, decltype(&PQfinish)> m_connection;
};

// `migrate-init migrate` with a shell migrator that leaves `ran` in `dir`; the fast path off,
// so the migrator runs on every start.
test::Outcome migrate_with_shell_migrator(const test::TempDir& dir, const std::string& url) {
  return test::run(test::Invocation({"migrate"},
                                    {{"DATABASE_URL", url},
                                     {"AUTO_MIGRATE_DIR", dir.path().string()},
                                     {"AUTO_MIGRATE_LOCK_KEY", k_lock_key},
                                     {"AUTO_MIGRATE_FAST_PATH", "off"},
                                     {"AUTO_MIGRATE_COMMAND", "echo migrated > " + (dir.path() / "ran").string()}},
                                    "", dir.path()));
}

bool ran(const test::TempDir& dir) { return std::filesystem::exists(dir.path() / "ran"); }

} // namespace

TEST_CASE("A read-only role's session with the migrator's tag is named and left alone; the migrator runs") {
  const std::string db = shared_server().create_database();
  create_role(db, "ts_owner");
  create_role(db, "ts_reader");
  shared_server().query(db, "ALTER DATABASE " + db + " OWNER TO ts_owner");
  const RoleSession reader(db, "ts_reader", k_tag_prefix + "x");
  const test::TempDir dir;

  const auto result = migrate_with_shell_migrator(dir, url_as("ts_owner", db));
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(ran(dir));
  CHECK(contains(result.err, "session pid " + std::to_string(reader.pid()) + " (role ts_reader) has the migrator's"));
  CHECK(test::count(result.err, "session pid " + std::to_string(reader.pid())) == 1); // once, not per look
  CHECK(!contains(result.err, "permission denied"));
  CHECK(reader.alive());
}

TEST_CASE("The holder's own role's session that it may not signal is named, not waited for, and no failure") {
  const std::string db = shared_server().create_database();
  create_role(db, "ts_owner");
  create_role(db, "ts_super", "SUPERUSER");
  shared_server().query(db, "ALTER DATABASE " + db + " OWNER TO ts_owner");
  // Logged in as a superuser that works as a plain role: this session may not signal the
  // superuser's other sessions (PostgreSQL checks the signalling role, not who logged in).
  shared_server().query(db, "ALTER ROLE ts_super IN DATABASE " + db + " SET role = 'ts_owner'");
  const RoleSession other(db, "ts_super", k_tag_prefix + "1@elsewhere");
  const test::TempDir dir;

  const auto result = migrate_with_shell_migrator(dir, url_as("ts_super", db));
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(ran(dir));
  CHECK(contains(result.err, "session pid " + std::to_string(other.pid()) + " (role ts_super) could not be signalled"));
  CHECK(other.alive());
}

TEST_CASE("A non-UTF-8 AUTO_MIGRATE_COMMAND is a usage error naming the setting, before anything runs") {
  const std::string db = shared_server().create_database();
  const test::TempDir dir;
  const auto result = test::run(test::Invocation({"migrate"},
                                                 {{"DATABASE_URL", shared_server().url(db)},
                                                  {"AUTO_MIGRATE_DIR", dir.path().string()},
                                                  {"AUTO_MIGRATE_COMMAND", "echo caf\xe9 > " + (dir.path() / "ran").string()}},
                                                 "", dir.path()));
  INFO(result.err);
  CHECK(result.exit_code == 2);
  CHECK(contains(result.err, "AUTO_MIGRATE_COMMAND: \"echo caf\\xe9 > "));
  CHECK(contains(result.err, "is not UTF-8"));
  CHECK(!ran(dir));
}
