// The built binary against a real PostgreSQL: what the log may never show (issue 14).
// Item 9: a value holding a newline or an escape character never forges a line in the text
// log. Item 4: no piece of a password reaches the log, whatever the connection setting's
// syntax and whatever libpq or the server echo of it later.
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <sstream>

using namespace std::chrono_literals;
using test::env_for;
using test::lines_of;
using test::shared_server;

namespace {

// Whether `line` holds a C0 control, DEL, or a C1 control (U+0080 to U+009F as UTF-8).
bool holds_control_character(const std::string& line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto byte = static_cast<unsigned char>(line[i]);
    if (byte < 0x20 || byte == 0x7F) return true;
    if (byte == 0xC2 && i + 1 < line.size() && static_cast<unsigned char>(line[i + 1]) <= 0x9F) return true;
  }
  return false;
}

// Every line of a text log is one of migrate-init's: its time stamp, its name, a level.
void check_one_physical_line_each(const std::string& log) {
  static const std::regex k_line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z migrate-init (debug|info|warning|error): .*)");
  CHECK(!log.empty());
  CHECK((log.empty() || log.back() == '\n'));
  for (const auto& line : lines_of(log)) {
    CAPTURE(line);
    CHECK(std::regex_match(line, k_line));
    CHECK_FALSE(holds_control_character(line));
  }
}

// The same for JSON logs: one object per line, no C0 control in it (JSON escapes them; it
// allows DEL and the C1 controls as they are).
void check_one_object_each(const std::string& log) {
  CHECK(!log.empty());
  for (const auto& line : lines_of(log)) {
    CAPTURE(line);
    CHECK(line.starts_with("{\"time\":\""));
    CHECK(line.ends_with("}"));
    CHECK(std::none_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
  }
}

// What forges a line or drives the terminal, as a value: a newline and a fake log line, a
// carriage return, ESC sequences, DEL and a C1 CSI.
const std::string k_forgery =
    "x\n2026-01-01T00:00:00.000Z migrate-init error: FORGED\r\x1b[2K\x1b]0;title\x07\x7f\xc2\x9b" "31m";

// `text` as it appears inside a JSON string (only quotes need it here).
std::string json_escaped(const std::string& text) {
  std::string out;
  for (const char c : text) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return out;
}

// A role that logs in with `password` and may migrate database `db`.
std::string role_with_password(const std::string& db, const std::string& password) {
  const std::string role = "r_" + db;
  shared_server().query(db, "CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'; GRANT ALL ON SCHEMA public TO " +
                                role + "; GRANT CREATE ON DATABASE " + db + " TO " + role);
  return role;
}

std::string conninfo(const std::string& role, const std::string& db, const std::string& password_as_written, int port) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " user=" + role + " dbname=" + db +
         " password=" + password_as_written;
}

// The pieces of "horse battery-staple" that no log line may show.
void check_no_piece_of_horse_battery_staple(const std::string& log) {
  for (const char* piece : {"horse", "battery", "staple", "ery-st", "e bat", "orse\\"}) {
    CAPTURE(piece);
    CHECK(log.find(piece) == std::string::npos);
  }
}

} // namespace

TEST_CASE("A migration file named with a newline, CR, ESC, DEL or a C1 control forges no line in the text log") {
  test::TempDir dir;
  dir.write("001_" + k_forgery + ".sql", "CREATE TABLE forged (id int);\n");
  dir.write("002_after.sql", "SELECT 1;\n");
  for (const bool json : {false, true}) {
    CAPTURE(json);
    auto env = env_for(shared_server().create_database(), dir.path());
    if (json) env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    const auto result = test::run({{"migrate"}, env});
    CAPTURE(result.err);
    CHECK((result.exit_code == 0 || result.exit_code == 1)); // applied, or refused by name: both logged
    CHECK(result.err.find("FORGED") != std::string::npos);
    if (json) {
      check_one_object_each(result.err);
    } else {
      check_one_physical_line_each(result.err);
      CHECK(result.err.find("001_x\\n2026-01-01T00:00:00.000Z migrate-init error: FORGED\\r\\x1b[2K\\x1b]0;title\\x07\\x7f"
                            "\\u009b31m") != std::string::npos);
    }
  }
}

TEST_CASE("Tenant names with a newline or ESC, from the setting or the query, forge no line in the text log") {
  const std::string db = shared_server().create_database();
  SUBCASE("from AUTO_MIGRATE_SCHEMAS_QUERY") {
    auto env = env_for(db, test::example_migrations());
    env["AUTO_MIGRATE_SCHEMAS_QUERY"] = "SELECT E'tenant\\n2026-01-01T00:00:00.000Z migrate-init info: FORGED\\x1b[31m'";
    const auto result = test::run({{"migrate"}, env});
    CAPTURE(result.err);
    check_one_physical_line_each(result.err);
    CHECK(result.err.find("tenant\\n2026-01-01T00:00:00.000Z migrate-init info: FORGED\\x1b[31m") != std::string::npos);
  }
  SUBCASE("from AUTO_MIGRATE_SCHEMAS") {
    auto env = env_for(db, test::example_migrations());
    env["AUTO_MIGRATE_SCHEMAS"] = "a,b\nFORGED\x1b[2J";
    const auto result = test::run({{"migrate"}, env});
    CAPTURE(result.err);
    check_one_physical_line_each(result.err);
  }
}

TEST_CASE("Server messages holding control characters are logged on one line each") {
  const std::string db = shared_server().create_database();
  test::TempDir dir;
  dir.write("001_notice.sql", "DO $$ BEGIN RAISE NOTICE E'note\\n2026-01-01T00:00:00.000Z migrate-init info: FORGED\\x1b[2J'; END $$;\n");
  dir.write("002_fails.sql", "DO $$ BEGIN RAISE EXCEPTION E'boom\\rFORGED\\x1b[31m'; END $$;\n");
  const auto result = test::run({{"migrate"}, env_for(db, dir.path())});
  CAPTURE(result.err);
  CHECK(result.exit_code == 1);
  check_one_physical_line_each(result.err);
  CHECK(result.err.find("FORGED\\x1b[2J") != std::string::npos);
  CHECK(result.err.find("boom\\rFORGED\\x1b[31m") != std::string::npos);
}

TEST_CASE("A conninfo password with an escaped space connects, and no piece of it is logged, text or JSON") {
  const std::string db = shared_server().create_database();
  const std::string role = role_with_password(db, "horse battery-staple");
  test::TempDir dir;
  // The server quotes a piece of the password in its error, after the connection.
  dir.write("001_a.sql", "CREATE TABLE a (id int);\n");
  dir.write("002_quotes_it.sql", "SELECT 'battery-staple'::int;\n");
  for (const bool json : {false, true}) {
    CAPTURE(json);
    std::map<std::string, std::string> env{
        {"DATABASE_URL", conninfo(role, db, "horse\\ battery-staple", shared_server().port())},
        {"AUTO_MIGRATE_DIR", dir.path().string()}};
    if (json) env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    const auto result = test::run({{"migrate"}, env});
    CAPTURE(result.err);
    CHECK(result.exit_code == 1); // 001 applied, 002 failed: so it did connect
    CHECK(result.err.find("invalid input syntax for type integer") != std::string::npos);
    check_no_piece_of_horse_battery_staple(result.err);
  }
  CHECK(shared_server().scalar(db, "SELECT count(*) FROM schema_migrations") == "1");
  SUBCASE("nor while it waits for a server that is not there") {
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", conninfo(role, db, "horse\\ battery-staple", test::free_port())},
                                    {"AUTO_MIGRATE_DIR", dir.path().string()},
                                    {"AUTO_MIGRATE_WAIT", "1"}}});
    CAPTURE(result.err);
    CHECK(result.exit_code == 4);
    CHECK(result.err.find("waiting for the database (attempt 2") != std::string::npos);
    check_no_piece_of_horse_battery_staple(result.err);
  }
}

TEST_CASE("A raw '@' or '/' in a URI password is refused at once with exit 2, naming the setting, quoting nothing") {
  const std::string db = shared_server().create_database();
  const std::string at = "127.0.0.1:" + std::to_string(shared_server().port()) + "/" + db;
  for (const std::string& variable : {std::string("DATABASE_URL"), std::string("AUTO_MIGRATE_DATABASE_URL")}) {
    for (const std::string& url : {"postgresql://u:Tr0ub4dor@horse-battery@" + at, "postgresql://u:s3cr3t/horse@" + at,
                                   "postgres://u:Tr0ub4dor@horse/battery@" + at}) {
      for (const bool json : {false, true}) {
        CAPTURE(url);
        CAPTURE(json);
        std::map<std::string, std::string> env{{variable, url}, {"AUTO_MIGRATE_DIR", test::example_migrations().string()}};
        if (json) env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
        const auto result = test::run({{"migrate"}, env});
        CAPTURE(result.err);
        CHECK(result.exit_code == 2);
        CHECK(result.elapsed < 5s);
        CHECK(test::count(result.err, "\n") == 1);
        CHECK(result.err.find(variable + ": the URL's user name or password holds a raw '@' or '/'") != std::string::npos);
        CHECK(result.err.find("%40") != std::string::npos);
        for (const char* piece : {"Tr0u", "horse", "batt", "s3cr", "127.0.0.1"}) CHECK(result.err.find(piece) == std::string::npos);
      }
    }
  }
}

TEST_CASE("A URL libpq cannot parse is refused without quoting any piece of it that may be the password") {
  struct Case {
    std::string url, expected, secret;
  };
  for (const Case& bad : {
           Case{"postgresql://127.0.0.1/db?password=horse%zzbattery",
                "DATABASE_URL is not a valid PostgreSQL URI or conninfo: invalid percent-encoded token: \"****\"", "horse"},
           Case{"host=127.0.0.1 password=horse battery-staple",
                "DATABASE_URL is not a valid PostgreSQL URI or conninfo: missing \"=\" after \"****\" in connection info "
                "string",
                "battery"},
           Case{"postgresql://127.0.0.1/db?password=ab&batterystaple=1",
                "DATABASE_URL is not a valid PostgreSQL URI or conninfo: invalid URI query parameter: \"****\"", "battery"},
           Case{"mysql://app:horse-battery@127.0.0.1/db",
                "DATABASE_URL is not a valid PostgreSQL URI or conninfo: missing \"=\" after \"****\" in connection info "
                "string (a URL starts with postgresql:// or postgres://, not mysql://)",
                "horse"},
       }) {
    for (const bool json : {false, true}) {
      CAPTURE(bad.url);
      CAPTURE(json);
      std::map<std::string, std::string> env{{"DATABASE_URL", bad.url}, {"AUTO_MIGRATE_DIR", test::example_migrations().string()}};
      if (json) env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
      const auto result = test::run({{"migrate"}, env});
      CAPTURE(result.err);
      CHECK(result.exit_code == 2);
      CHECK(result.err.find(json ? json_escaped(bad.expected) : bad.expected) != std::string::npos);
      CHECK(result.err.find(bad.secret) == std::string::npos);
      CHECK(result.err.find("127.0.0.1") == std::string::npos);
    }
  }
}

// Issue 20, item 5: a password holding the user and database names hid them in every start
// line ("postgresql://****:****@127.0.0.1:55432/****"). The start line shows them; what the
// server quotes of the password is still masked.
TEST_CASE("A password holding the user and database names: the start line shows them, the password stays masked") {
  const std::string db = shared_server().create_database();
  const std::string role = role_with_password(db, "PLACEHOLDER");
  const std::string password = role + "-secret-1"; // the role is "r_" + db: both names in it
  shared_server().query(db, "ALTER ROLE " + role + " PASSWORD '" + password + "'");
  test::TempDir dir;
  dir.write("001_a.sql", "CREATE TABLE a (id int);\n");
  dir.write("002_quotes_it.sql", "SELECT '" + password + "'::int;\n"); // the server quotes it back
  const std::string url = "postgresql://" + role + ":" + password + "@127.0.0.1:" +
                          std::to_string(shared_server().port()) + "/" + db;
  for (const bool json : {false, true}) {
    CAPTURE(json);
    std::map<std::string, std::string> env{{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", dir.path().string()}};
    if (json) env["AUTO_MIGRATE_LOG_FORMAT"] = "json";
    const auto result = test::run({{"migrate"}, env});
    CAPTURE(result.err);
    CHECK(result.exit_code == 1); // 001 applied, 002 failed: so it did connect
    const std::string shown = "postgresql://" + role + ":****@127.0.0.1:" + std::to_string(shared_server().port()) + "/" + db;
    CHECK(result.err.find("connecting to " + shown) != std::string::npos);
    if (json) CHECK(result.err.find("\"database\":\"" + shown + "\"") != std::string::npos);
    const bool quoted_masked = result.err.find("invalid input syntax for type integer: \\\"****\\\"") != std::string::npos ||
                               result.err.find("invalid input syntax for type integer: \"****\"") != std::string::npos;
    CHECK(quoted_masked);
    for (const std::string& piece : {password, std::string("secret"), std::string("-secr"), std::string("et-1")}) {
      CAPTURE(piece);
      CHECK(result.err.find(piece) == std::string::npos);
    }
  }
}

// Issue 20, item 5, safety first: a user name and database that hold the whole password
// (the role "r_test_N" and database "test_N", password "test_N") are masked in the start
// line; a quoted conninfo password holding the user name keeps the user shown.
TEST_CASE("The start line masks a user and database that hold the whole password, and reads quoted conninfo") {
  const std::string db = shared_server().create_database();
  const std::string port = std::to_string(shared_server().port());
  test::TempDir dir;
  dir.write("001_a.sql", "CREATE TABLE a (id int);\n");
  SUBCASE("the password is the database name") {
    const std::string role = role_with_password(db, db);
    const std::string url = "postgresql://" + role + ":" + db + "@127.0.0.1:" + port + "/" + db;
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", dir.path().string()}}});
    CAPTURE(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("connecting to postgresql://****:****@****") != std::string::npos);
    CHECK(result.err.find(db) == std::string::npos);
  }
  SUBCASE("a quoted conninfo password") {
    const std::string password = "r_" + db + " it's secret";
    const std::string role = role_with_password(db, "r_" + db + " it''s secret");
    const std::string url = "host=127.0.0.1 port=" + port + " user=" + role + " password='r_" + db +
                            " it\\'s secret' dbname=" + db;
    const auto result = test::run({{"migrate"}, {{"DATABASE_URL", url}, {"AUTO_MIGRATE_DIR", dir.path().string()}}});
    CAPTURE(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("connecting to host=127.0.0.1 port=" + port + " user=" + role + " password=**** dbname=" + db) !=
          std::string::npos);
    for (const std::string& piece : {password, std::string("it's secret"), std::string("s secr")}) {
      CAPTURE(piece);
      CHECK(result.err.find(piece) == std::string::npos);
    }
  }
}

// A password libpq takes from the password file is hidden like the URL's once connecting
// starts: the server quotes it back in a migration's error.
TEST_CASE("A password from the password file is masked in what the server quotes") {
  const std::string db = shared_server().create_database();
  const std::string password = "pf-" + db + "-Xy9";
  const std::string role = role_with_password(db, password);
  test::TempDir dir;
  dir.write("001_a.sql", "CREATE TABLE a (id int);\n");
  dir.write("002_quotes_it.sql", "SELECT '" + password + "'::int;\n");
  test::TempDir home;
  const auto passfile = home.write("pgpass", "127.0.0.1:" + std::to_string(shared_server().port()) + ":" + db + ":" +
                                                 role + ":" + password + "\n");
  std::filesystem::permissions(passfile, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  const std::string url = "postgresql://" + role + "@127.0.0.1:" + std::to_string(shared_server().port()) + "/" + db;
  const auto result = test::run({{"migrate"},
                                 {{"DATABASE_URL", url},
                                  {"AUTO_MIGRATE_DIR", dir.path().string()},
                                  {"PGPASSFILE", passfile.string()}}});
  CAPTURE(result.err);
  CHECK(result.exit_code == 1); // 001 applied, 002 failed: so it did connect
  CHECK(result.err.find("invalid input syntax for type integer: \"****\"") != std::string::npos);
  CHECK(result.err.find(password) == std::string::npos);
  CHECK(result.err.find("-Xy9") == std::string::npos);
}

// A migrator given its password as an option (`liquibase --password X`, a team's own
// script): the start line shows the command with the value masked, and the migrator's own
// output, which may echo it anywhere, is masked too. Shell line and JSON array form.
TEST_CASE("A password option on the migrator's command line is masked in the start line and in the migrator's output") {
  const std::string db = shared_server().create_database();
  const std::string secret = "-opt-" + db + "-Qz7"; // generated passwords may start with '-'
  const std::vector<std::string> commands{
      // a shell line: --password VALUE
      "echo connecting with " + secret + " as its token=" + secret + " >&2 # --password " + secret,
      // a JSON array: "--password", "VALUE"
      R"(["/bin/sh", "-c", "echo \"connecting with $2 as its token=$2\"", "migrator", "--password", ")" + secret + "\"]",
      // a JSON array: "--password=VALUE"
      R"(["/bin/sh", "-c", "echo \"connecting with ${1#--password=}\"", "migrator", "--password=)" + secret + "\"]",
      // a shell line naming a variable: --password "$MIGRATOR_PW"
      R"(echo "connecting with $MIGRATOR_PW" >&2; true --password "$MIGRATOR_PW")",
  };
  for (const auto& command : commands) {
    CAPTURE(command);
    const auto result = test::run({{"migrate"},
                                   {{"DATABASE_URL", shared_server().url(db)},
                                    {"AUTO_MIGRATE_COMMAND", command},
                                    {"MIGRATOR_PW", secret},
                                    {"AUTO_MIGRATE_FAIL_ON_ERROR", "true"}}});
    CAPTURE(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("--password") != std::string::npos);           // the command is shown...
    CHECK(result.err.find("connecting with ****") != std::string::npos); // ...and the migrator's output
    CHECK(result.err.find(secret) == std::string::npos);
    CHECK(result.err.find("Qz7") == std::string::npos);
  }
}
