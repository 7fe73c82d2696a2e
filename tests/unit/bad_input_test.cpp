// Bad input that the other unit tests do not cover yet, one case per row of
// docs/bad-input.md: each must be refused with a one-line message naming the setting,
// flag, file or line, and the documented exit code.
#include "config.hpp"
#include "error.hpp"
#include "sql_files/migration_file.hpp"
#include "sql_files/migration_script.hpp"

#include "env_from.hpp"
#include "usage_error.hpp"
#include "text.hpp"
#include "settings_table.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace migrate_init;
using test::env_from;
using Args = std::vector<std::string>;

namespace {

std::string config_error(const Args& args, std::map<std::string, std::string> env = {}) {
  const EnvLookup lookup = env_from(std::move(env));
  return test::usage_error_message_of([&] { parse_config(args, lookup); });
}

bool one_line(const std::string& message) { return message.find('\n') == std::string::npos; }

std::vector<std::string> problems_of(const std::string& file, const std::string& sql) {
  return parse_migration_script(file, sql).problems;
}

// A scratch directory for the secret-file reader, removed on destruction.
struct Scratch {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("migrate-init-bad-input-" + std::to_string(getpid()));
  Scratch() { std::filesystem::create_directories(path); }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string write(const std::string& name, const std::string& contents) const {
    std::ofstream(path / name, std::ios::binary) << contents;
    return (path / name).string();
  }
};

} // namespace

TEST_CASE("Bad settings not covered elsewhere are usage errors naming the variable and the value") {
  struct Case {
    std::map<std::string, std::string> env;
    std::string expected;
  };
  for (const Case& bad : {
           Case{{{"AUTO_MIGRATE_LOG_FORMAT", "xml"}}, "AUTO_MIGRATE_LOG_FORMAT: \"xml\" is not a log format (use text or json)"},
           Case{{{"AUTO_MIGRATE_STATEMENT_TIMEOUT", "2147484"}},
                "AUTO_MIGRATE_STATEMENT_TIMEOUT: \"2147484\" is more than PostgreSQL allows (2147483 seconds)"},
           Case{{{"AUTO_MIGRATE_DB_LOCK_RETRIES", "1001"}},
                "AUTO_MIGRATE_DB_LOCK_RETRIES: \"1001\" is not a number of attempts from 1 to 1000"},
           Case{{{"AUTO_MIGRATE_DB_LOCK_RETRIES", "x"}},
                "AUTO_MIGRATE_DB_LOCK_RETRIES: \"x\" is not a number of attempts from 1 to 1000"},
           Case{{{"AUTO_MIGRATE_PROCESS_GROUP", "all"}},
                "AUTO_MIGRATE_PROCESS_GROUP: \"all\" is not a boolean (use true/false, 1/0, yes/no or on/off)"},
           Case{{{"AUTO_MIGRATE_ALLOW_OUT_OF_ORDER", "sometimes"}},
                "AUTO_MIGRATE_ALLOW_OUT_OF_ORDER: \"sometimes\" is not a boolean"},
           Case{{{"AUTO_MIGRATE_WAIT_FOR_SCHEMA", "forever"}},
                "AUTO_MIGRATE_WAIT_FOR_SCHEMA: \"forever\" is not a number of seconds (for example 30 or 2.5)"},
           Case{{{"AUTO_MIGRATE_LOCK_TIMEOUT", "5m"}}, "AUTO_MIGRATE_LOCK_TIMEOUT: \"5m\" is not a number of seconds"},
           Case{{{"AUTO_MIGRATE_REQUIRED", "001-init"}},
                "AUTO_MIGRATE_REQUIRED: \"001-init\" is not a migration (use 001_name, 001, or all)"},
           Case{{{"AUTO_MIGRATE_REQUIRED", "001,,002"}}, "AUTO_MIGRATE_REQUIRED: \"001,,002\" has an empty item"},
           Case{{{"AUTO_MIGRATE_SCHEMAS", "a,,b"}}, "AUTO_MIGRATE_SCHEMAS: \"a,,b\" has an empty item"},
           Case{{{"AUTO_MIGRATE_SCHEMAS", "a"}, {"AUTO_MIGRATE_SCHEMAS_QUERY", "SELECT 'b'"}},
                "set AUTO_MIGRATE_SCHEMAS or AUTO_MIGRATE_SCHEMAS_QUERY, not both"},
           Case{{{"AUTO_MIGRATE_SCHEMAS", "a"}, {"AUTO_MIGRATE_LOCK_KEY", "1"}},
                "AUTO_MIGRATE_LOCK_KEY cannot be combined with tenant schemas: each tenant gets its own key"},
           Case{{{"AUTO_MIGRATE_SCHEMAS_QUERY", "SELECT 'a'"}, {"AUTO_MIGRATE_WAIT_FOR_SCHEMA", "10"}},
                "AUTO_MIGRATE_REQUIRED and AUTO_MIGRATE_WAIT_FOR_SCHEMA check one ledger"},
           Case{{{"AUTO_MIGRATE_DATABASE_URL", "postgres://a@b/c"}, {"AUTO_MIGRATE_DATABASE_URL_FILE", "/run/secret"}},
                "set AUTO_MIGRATE_DATABASE_URL or AUTO_MIGRATE_DATABASE_URL_FILE, not both"},
       }) {
    CAPTURE(bad.expected);
    const std::string message = config_error({"migrate"}, bad.env);
    CHECK(message.find(bad.expected) == 0);
    CHECK(one_line(message));
  }
}

// Every setting's variable, read from --help: a setting added later is covered too.
std::vector<std::string> every_setting_variable() {
  std::vector<std::string> variables;
  std::istringstream help(help_text());
  for (std::string line; std::getline(help, line);) {
    // "  --dir=VALUE  AUTO_MIGRATE_DIR (default ./migrations)"; other options have no variable.
    if (line.rfind("  --", 0) != 0 || line.find(" (default ") == std::string::npos) continue;
    const std::size_t start = line.find("  ", 4) + 2;
    variables.push_back(line.substr(start, line.find(' ', start) - start));
  }
  return variables;
}

// Each value reaches SQL (the command is recorded in migrate_init_runs; names, queries and
// URL parts go to the server) or a log line: bytes that are not UTF-8 failed there with
// "ERROR: invalid multibyte character" (exit 1), naming nothing.
TEST_CASE("A setting that is not UTF-8 is a usage error naming it, with the bytes escaped") {
  const auto variables = every_setting_variable();
  REQUIRE(variables.size() > 25);
  for (const auto& variable : variables) {
    CAPTURE(variable);
    const bool url = variable.find("DATABASE_URL") != std::string::npos;
    const std::string value = url ? "postgresql://app:s3cr\xe9t@db/app" : "caf\xe9";
    const std::string message = config_error({"migrate"}, {{variable, value}});
    CHECK(message.find(variable) == 0);
    CHECK(message.find("is not UTF-8") != std::string::npos);
    CHECK(is_valid_utf8(message));
    CHECK(one_line(message));
    if (url) {
      CHECK(message.find("s3cr") == std::string::npos); // may be a password: not shown at all
    } else {
      CHECK(message == variable + ": \"caf\\xe9\" is not UTF-8");
    }
  }
  CHECK(config_error({"--migrate-command", "echo \xff\xfe", "migrate"}) ==
        "--migrate-command: \"echo \\xff\\xfe\" is not UTF-8");
  // A surrogate and an overlong '/', as PostgreSQL refuses them; a valid é stays.
  CHECK(config_error({"migrate"}, {{"AUTO_MIGRATE_SCHEMAS_QUERY", "SELECT '\xed\xa0\x80'"}}).find("\\xed\\xa0\\x80") !=
        std::string::npos);
  CHECK(config_error({"migrate"}, {{"AUTO_MIGRATE_SCHEMAS", "a\xc0\xaf"}}) ==
        "AUTO_MIGRATE_SCHEMAS: \"a\\xc0\\xaf\" is not UTF-8");
  CHECK(parse_config({"migrate"}, env_from({{"AUTO_MIGRATE_SCHEMAS", "caf\xc3\xa9"}})).schemas ==
        std::vector<std::string>{"caf\xc3\xa9"});
}

TEST_CASE("A secret file that is not UTF-8 is named with its path, never shown") {
  Scratch scratch;
  const std::string path = scratch.write("url", "postgresql://app:s3cr\xe9t@db/app\n");
  const std::string message = config_error({"migrate"}, {{"DATABASE_URL_FILE", path}});
  CHECK(message.find("DATABASE_URL_FILE (" + path + ") is not UTF-8") == 0);
  CHECK(message.find("s3cr") == std::string::npos);
}

TEST_CASE("Bad command lines not covered elsewhere are usage errors naming the flag") {
  CHECK(config_error({"rollback", "--to", "abc"}) == "--to: \"abc\" is not a migration version (digits, e.g. 003)");
  CHECK(config_error({"migrate", "--wait"}) ==
        "the required argument for option '--wait' is missing (see migrate-init --help)");
  CHECK(config_error({"--process-group=sometimes", "--", "x"}).find("--process-group: \"sometimes\" is not a boolean") == 0);
  CHECK(config_error({"--log-format", "yaml", "migrate"}) == "--log-format: \"yaml\" is not a log format (use text or json)");
  // An empty variable counts as unset, but an empty flag value is refused, naming the flag.
  CHECK(config_error({"--dir=", "migrate"}).find("'--dir'") != std::string::npos);
}

TEST_CASE("The secret-file reader names the variable and the path for a missing or empty file") {
  Scratch scratch;
  const SecretFileReader read = read_secret_file();
  const std::string missing = (scratch.path / "no-such-secret").string();
  CHECK(test::usage_error_message_of([&] { read(missing, "DATABASE_URL_FILE (" + missing + ")"); }) ==
        "DATABASE_URL_FILE (" + missing + "): cannot read the file");
  const std::string blank = scratch.write("blank", "\n\r\n");
  CHECK(test::usage_error_message_of([&] { read(blank, "DATABASE_URL_FILE (" + blank + ")"); }) ==
        "DATABASE_URL_FILE (" + blank + "): the file is empty");
  // Only the trailing newline goes: the value is otherwise kept as written.
  const std::string url = scratch.write("url", "postgres://a@b/c\n");
  CHECK(read(url, "DATABASE_URL_FILE") == "postgres://a@b/c");
}

// A directory opens, then fails on the first read with an error that names nothing.
TEST_CASE("The secret-file reader refuses a directory as a usage error naming the variable") {
  Scratch scratch;
  const SecretFileReader read = read_secret_file();
  const std::string source = "DATABASE_URL_FILE (" + scratch.path.string() + ")";
  CHECK(test::usage_error_message_of([&] { read(scratch.path.string(), source); }).find(source) == 0);
}

TEST_CASE("Unterminated quotes, dollar quotes, identifiers and comments are problems naming file:line") {
  struct Case {
    const char* sql;
    const char* expected;
  };
  for (const Case& bad : {Case{"SELECT 1;\nSELECT 'open;\nCREATE TABLE x (id int);\n", "007_u.sql:2: unterminated quoted string: the ' opened on line 2 is never closed, so the CREATE on line 3 is read as part of the string"},
                          Case{"CREATE FUNCTION f() RETURNS int AS $$\nSELECT 1;\n", "007_u.sql:1: unterminated dollar-quoted string: the $$ opened on line 1 is never closed"},
                          Case{"SELECT 1;\nDO $body$ BEGIN NULL; END $Body$;\n", "007_u.sql:2: unterminated dollar-quoted string: the $body$ opened on line 2 is never closed"},
                          Case{"SELECT 1;\n\n/* open /* nested */\n", "007_u.sql:3: unterminated /* comment: probably the /* opened on line 3 is never closed (or the /* inside it on line 3 opens a nested comment, which PostgreSQL allows, and needs a */ of its own; the splitter cannot tell which)"},
                          Case{"SELECT \"abc;\n", "007_u.sql:1: unterminated quoted identifier: the \" opened on line 1 is never closed"},
                          // The dbmate up section keeps the file's line numbers.
                          Case{"-- migrate:up\nSELECT 'open;\n-- migrate:down\nSELECT 1;\n",
                               "007_u.sql:2: unterminated quoted string: the ' opened on line 2 is never closed"}}) {
    CAPTURE(bad.sql);
    const auto problems = problems_of("007_u.sql", bad.sql);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == bad.expected);
  }
}

TEST_CASE("A no-transaction file is still refused for meta-commands, COPY ... STDIN and unterminated text") {
  const std::string marker = "-- migrate-init: no-transaction\n";
  CHECK(problems_of("008_n.sql", marker + "\\set x 1\n") ==
        std::vector<std::string>{"008_n.sql:2: a psql meta-command (\\...) cannot run on the server; use plain SQL"});
  CHECK(problems_of("008_n.sql", marker + "COPY t FROM STDIN;\n") ==
        std::vector<std::string>{"008_n.sql:2: COPY ... STDIN/STDOUT needs psql to send or read the data; use INSERT, "
                                 "or COPY from a file on the server"});
  CHECK(problems_of("008_n.sql", marker + "SELECT 'open;\n") ==
        std::vector<std::string>{"008_n.sql:2: unterminated quoted string: the ' opened on line 2 is never closed"});
}

TEST_CASE("Transaction control and COPY TO STDOUT in a transactional file are problems naming file:line") {
  CHECK(problems_of("009_t.sql", "CREATE TABLE y (id int);\nEND;\nCREATE TABLE z (id int);\n") ==
        std::vector<std::string>{"009_t.sql:2: END without a BEGIN before it: remove it (the file runs in one "
                                 "transaction with its ledger row), or put `-- migrate-init: no-transaction` on the "
                                 "file's first line"});
  CHECK(problems_of("009_t.sql", "BEGIN;\nCREATE TABLE y (id int);\n").at(0).find("009_t.sql:1: BEGIN with no COMMIT") == 0);
  CHECK(problems_of("009_t.sql", "SELECT 1;\nCOPY t TO STDOUT;\n").at(0).find("009_t.sql:2: COPY ... STDIN/STDOUT needs psql") ==
        0);
  // A no-transaction marker after the first statement does not count, but the CONCURRENTLY
  // statement makes the file run outside a transaction anyway, as psql would run it.
  const auto late_marker =
      parse_migration_script("009_t.sql", "SELECT 1;\n-- migrate-init: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
  CHECK(late_marker.problems.empty());
  CHECK(late_marker.detected_no_transaction == "CREATE INDEX CONCURRENTLY at line 3");
}

TEST_CASE("Every problem of a file is reported, each with its own line") {
  const auto problems = problems_of("010_two.sql", "BEGIN;\nVACUUM t;\nCOMMIT;\n\\set x 1\nCOPY t FROM STDIN;\n");
  REQUIRE(problems.size() == 3);
  for (const auto& problem : problems) {
    CAPTURE(problem);
    CHECK(problem.find("010_two.sql:") == 0);
    CHECK(one_line(problem));
  }
}

TEST_CASE("Empty, blank and comment-only files are not problems: they apply as no-ops") {
  for (const char* text : {"", "\n\n  \n", "-- nothing yet\n/* really */\n", "-- migrate-init: no-transaction\n"}) {
    CAPTURE(text);
    CHECK(problems_of("011_e.sql", text).empty());
  }
}

// A NUL byte ends the text libpq sends: the rest of the file, the ledger row and the
// COMMIT would be dropped silently.
TEST_CASE("A NUL byte in a migration is a problem naming file:line") {
  const auto problems = problems_of("012_nul.sql", std::string("CREATE TABLE y (id int);\n") + '\0' + "\nCREATE TABLE z (id int);\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("012_nul.sql:2:") == 0);
}

// A file with `-- migrate:down` but no `-- migrate:up` has an empty up section: it
// would be recorded as applied having run nothing. dbmate refuses such a file too.
TEST_CASE("A file with a down section but no up section is a problem") {
  const auto problems = problems_of("013_down.sql", "-- migrate:down\nDROP TABLE ok;\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("013_down.sql:1:") == 0);
}

TEST_CASE("File names that are not migrations are set aside, not errors; duplicates are exit 1") {
  const ClassifiedNames names = classify_file_names({"01-init.sql", "001.sql", "abc_x.sql", "001_x.SQL", "002_y.sql.bak",
                                                     "003_z.sql"});
  REQUIRE(names.migrations.size() == 1);
  CHECK(names.migrations[0].file_name == "003_z.sql");
  CHECK(names.ignored == std::vector<std::string>{"001.sql", "001_x.SQL", "002_y.sql.bak", "01-init.sql", "abc_x.sql"});
  try {
    classify_file_names({"0003_a.sql", "3_b.sql"});
    FAIL("accepted two migrations with one version");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::migration_failed);
    CHECK(std::string(e.what()) == "two migrations have version 3: 0003_a.sql and 3_b.sql");
  }
}
