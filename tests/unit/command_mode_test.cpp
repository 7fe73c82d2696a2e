// Command mode's pure parts: the command's two forms, the settings around it, the JSON
// array reader, the migrator's environment, and the digest of the files it reads.
#include "config.hpp"
#include "json.hpp"
#include "command/files_digest.hpp"
#include "command/migrator_environment.hpp"

#include "env_from.hpp"
#include "scratch_dir.hpp"
#include "usage_error.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace migrate_init;
using test::env_from;
using Args = std::vector<std::string>;

namespace {

Config with_command(const std::string& command, std::map<std::string, std::string> more = {}) {
  more["AUTO_MIGRATE_COMMAND"] = command;
  return parse_config({"migrate"}, env_from(more));
}

std::string refusal(const std::string& command, std::map<std::string, std::string> more = {}, Args args = {"migrate"}) {
  more["AUTO_MIGRATE_COMMAND"] = command;
  return test::usage_error_message_of([&] { parse_config(args, env_from(more)); });
}

std::size_t count_of(const std::vector<std::string>& environment, const std::string& prefix) {
  return static_cast<std::size_t>(std::count_if(environment.begin(), environment.end(),
                                                [&](const std::string& entry) { return entry.rfind(prefix, 0) == 0; }));
}

bool holds(const std::vector<std::string>& environment, const std::string& entry) {
  return std::find(environment.begin(), environment.end(), entry) != environment.end();
}

using test::ScratchDir;

} // namespace

TEST_CASE("A JSON array command is the argv; any other text runs with /bin/sh -c") {
  CHECK(with_command(R"(["alembic", "upgrade", "head"])").migrate_command == Args{"alembic", "upgrade", "head"});
  CHECK(with_command(" [\"npx\",\"knex\",\n \"migrate:latest\"] ").migrate_command ==
        Args{"npx", "knex", "migrate:latest"});
  CHECK(with_command("alembic upgrade head").migrate_command == Args{"/bin/sh", "-c", "alembic upgrade head"});
  SUBCASE("a shell line that starts with [ is a shell line") {
    CHECK(with_command("[ -f alembic.ini ] && alembic upgrade head").migrate_command ==
          Args{"/bin/sh", "-c", "[ -f alembic.ini ] && alembic upgrade head"});
  }
  CHECK(with_command("alembic upgrade head").migrate_command_text == "alembic upgrade head");
  CHECK_FALSE(parse_config({"migrate"}, env_from({})).command_mode());
  CHECK(parse_config({"--migrate-command", "flask db upgrade", "migrate"}, env_from({})).command_mode());
}

TEST_CASE("A command that opens like a JSON array must be one, naming what is wrong") {
  CHECK(refusal(R"(["alembic", "upgrade" "head"])") ==
        "AUTO_MIGRATE_COMMAND: not a JSON array of strings: expected ']' at character 23 (a command that is not a "
        "JSON array runs with /bin/sh -c)");
  CHECK(refusal("[]") == "AUTO_MIGRATE_COMMAND: the JSON array names no program");
  CHECK(refusal(R"([""])") == "AUTO_MIGRATE_COMMAND: the JSON array names no program");
  CHECK(refusal(R"(["alembic")").find("the text ended") != std::string::npos);
  CHECK(refusal("   ") == "AUTO_MIGRATE_COMMAND: the command is blank");
}

TEST_CASE("The JSON array reader handles every escape and refuses what JSON refuses") {
  CHECK(parse_json_string_array(R"(["a\"b", "c\\d", "\/", "\b\f\n\r\t"])") ==
        Args{"a\"b", "c\\d", "/", "\b\f\n\r\t"});
  CHECK(parse_json_string_array(R"(["\u00e9", "\u20ac", "\ud83d\ude00"])") ==
        Args{"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"});
  CHECK(parse_json_string_array(" [ ] ").empty());
  for (const std::string bad : {R"(["\ud83d"])", R"(["\ude00"])", R"(["\u00zz"])", R"(["\x"])", "[\"a\nb\"]",
                                R"(["a",])", R"(["a"] x)", R"(['a'])", R"([1])", R"(["\u0000"])", "["}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_json_string_array(bad), std::invalid_argument);
  }
}

TEST_CASE("Command-mode settings are read, and .sql-only ones are refused with the command") {
  const Config config = with_command("alembic upgrade head", {{"AUTO_MIGRATE_COMMAND_GRACE", "2.5"},
                                                              {"AUTO_MIGRATE_FAST_PATH", "off"},
                                                              {"AUTO_MIGRATE_ALEMBIC_INI", "deploy/alembic.ini"},
                                                              {"AUTO_MIGRATE_ALEMBIC_VERSION_TABLE", "ops.alembic_version"}});
  CHECK(config.migrate_command_grace == std::chrono::milliseconds(2500));
  CHECK_FALSE(config.fast_path);
  CHECK(config.alembic_ini == "deploy/alembic.ini");
  CHECK(config.alembic_version_table.display() == "ops.alembic_version");
  CHECK(with_command("x").fast_path);
  CHECK(refusal("x", {{"AUTO_MIGRATE_FAST_PATH", "sometimes"}}) ==
        "AUTO_MIGRATE_FAST_PATH: \"sometimes\" is not a fast-path setting (use auto or off)");
  CHECK(refusal("x", {{"AUTO_MIGRATE_BASELINE", "003"}}).find("AUTO_MIGRATE_BASELINE works on .sql files") == 0);
  CHECK(refusal("x", {{"AUTO_MIGRATE_ALLOW_DRIFT", "true"}}).find("AUTO_MIGRATE_ALLOW_DRIFT") == 0);
  CHECK(refusal("x", {}, {"rollback"}).find("'rollback' (use your migrator's own downgrade command)") == 0);
  CHECK(refusal("x", {}, {"repair", "003", "--retry"}).find("'repair'") == 0);
  CHECK(refusal("x", {{"AUTO_MIGRATE_REQUIRED", "001_a"}}).find("only 'all' can be checked") != std::string::npos);
  CHECK(with_command("x", {{"AUTO_MIGRATE_REQUIRED", "all"}}).required == Args{"all"});
  CHECK(refusal("x", {{"AUTO_MIGRATE_REQUIRED", "all"}, {"AUTO_MIGRATE_FAST_PATH", "off"}})
            .find("need the fast path in command mode") != std::string::npos);
  CHECK(refusal("x", {{"AUTO_MIGRATE", "false"}, {"AUTO_MIGRATE_WAIT_FOR_SCHEMA", "5"}, {"AUTO_MIGRATE_FAST_PATH", "off"}})
            .find("AUTO_MIGRATE_FAST_PATH=off") != std::string::npos);
}

TEST_CASE("check is a subcommand that takes --json") {
  CHECK(parse_config({"check"}, env_from({})).command == Command::check);
  CHECK(parse_config({"check", "--json"}, env_from({})).json);
  CHECK(test::usage_error_message_of([] { parse_config({"check", "--", "x"}, env_from({})); })
            .find("'check' takes no command") == 0);
}

TEST_CASE("The migrator gets the migration URL as DATABASE_URL, the tag, the tenant, and never the DDL-only variables") {
  const std::vector<std::string> service{"PATH=/usr/bin",
                                         "DATABASE_URL=postgresql://app:app-pw@db/app",
                                         "AUTO_MIGRATE_DATABASE_URL=postgresql+psycopg2://ddl:ddl-pw@db/app",
                                         "AUTO_MIGRATE_DATABASE_URL=postgresql://second-copy",
                                         "AUTO_MIGRATE_DATABASE_URL_FILE=/run/secrets/ddl",
                                         "PGAPPNAME=web",
                                         "AUTO_MIGRATE_SCHEMA=stale",
                                         "PGOPTIONS=-c search_path=app"};
  const auto environment = migrator_environment(
      service, {"postgresql+psycopg2://ddl:ddl-pw@db/app", "migrate-init-migrator 42 7@host", "tenant_a", true, ""});
  CHECK(holds(environment, "PATH=/usr/bin"));
  CHECK(holds(environment, "DATABASE_URL=postgresql+psycopg2://ddl:ddl-pw@db/app"));
  CHECK(count_of(environment, "DATABASE_URL=") == 1);
  CHECK(count_of(environment, "AUTO_MIGRATE_DATABASE_URL") == 0);
  CHECK(holds(environment, "PGAPPNAME=migrate-init-migrator 42 7@host"));
  CHECK(count_of(environment, "PGAPPNAME=") == 1);
  CHECK(holds(environment, "AUTO_MIGRATE_SCHEMA=tenant_a"));
  CHECK(count_of(environment, "AUTO_MIGRATE_SCHEMA=") == 1);
  // The user's options first: the server keeps a setting's last value, so the check holds.
  CHECK(holds(environment, std::string("PGOPTIONS=-c search_path=app ") + k_client_check_option));
  SUBCASE("without a URL, a tenant or a server that knows the client check") {
    const auto plain = migrator_environment({"PATH=/bin", "DATABASE_URL=kept", "AUTO_MIGRATE_SCHEMA=stale"},
                                            {"", "tag", std::nullopt, false, ""});
    CHECK(holds(plain, "DATABASE_URL=kept"));
    CHECK(count_of(plain, "AUTO_MIGRATE_SCHEMA") == 0);
    CHECK(count_of(plain, "PGOPTIONS") == 0);
    CHECK(holds(plain, "PGAPPNAME=tag"));
  }
}

TEST_CASE("A migration URL that sets application_name or options itself carries the tag and the client check there") {
  const std::string check = k_client_check_option;
  const auto url_for = [](const std::string& url, bool check_client = true, const std::string& effective = "") {
    return migrator_database_url({url, "migrate-init-migrator 42 7@host", std::nullopt, check_client, effective});
  };
  SUBCASE("a URL without either is given as it is: PGAPPNAME and PGOPTIONS reach the migrator") {
    CHECK(url_for("postgresql://u:p%3F@db:5432/app?sslmode=require") == "postgresql://u:p%3F@db:5432/app?sslmode=require");
    CHECK(url_for("host=db user=u password='a b' dbname=app") == "host=db user=u password='a b' dbname=app");
  }
  SUBCASE("a URI's application_name is replaced, its options kept before the check, the rest as written") {
    CHECK(url_for("postgresql+psycopg2://u:pw@db/app?application_name=web&options=-c%20statement_timeout%3D0&sslmode=require") ==
          "postgresql+psycopg2://u:pw@db/app?application_name=migrate-init-migrator%2042%207%40host"
          "&options=-c%20statement_timeout%3D0%20-c%20client_connection_check_interval%3D2000&sslmode=require");
  }
  SUBCASE("a password holding '?' and '&' is not taken for the query") {
    CHECK(url_for("postgresql://u:a?application_name=x&b@db/app?application_name=web") ==
          "postgresql://u:a?application_name=x&b@db/app?application_name=migrate-init-migrator%2042%207%40host");
  }
  SUBCASE("conninfo: the values are replaced, quoted") {
    CHECK(url_for("host=db application_name = web options='-c search_path=app' password='it\\'s'") ==
          "host=db application_name = 'migrate-init-migrator 42 7@host' options='-c search_path=app " + check +
              "' password='it\\'s'");
  }
  SUBCASE("a service file may set them: both are added to the URL") {
    CHECK(url_for("service=prod") ==
          "service=prod application_name='migrate-init-migrator 42 7@host' options='" + check + "'");
    CHECK(url_for("postgresql:///app?service=prod") ==
          "postgresql:///app?service=prod&application_name=migrate-init-migrator%2042%207%40host&options=-c%20"
          "client_connection_check_interval%3D2000");
  }
  SUBCASE("a service file's own options (read by libpq for migrate-init's session) are kept before the check") {
    CHECK(url_for("service=prod", true, "-c search_path=tenant_a") ==
          "service=prod application_name='migrate-init-migrator 42 7@host' options='-c search_path=tenant_a " + check +
              "'");
  }
  SUBCASE("an '@' in the query is not taken for the end of the userinfo (libpq's first '@' before any '/')") {
    CHECK(url_for("postgresql://h/db?user=admin@srv&application_name=app") ==
          "postgresql://h/db?user=admin@srv&application_name=migrate-init-migrator%2042%207%40host");
  }
  SUBCASE("SQLAlchemy reads '+' in the query as a space; libpq as a '+'") {
    CHECK(url_for("postgresql+psycopg2://u@h/db?options=-c+search_path%3Dapp") ==
          "postgresql+psycopg2://u@h/db?options=-c%20search_path%3Dapp%20-c%20client_connection_check_interval%3D2000");
    CHECK(url_for("postgresql://u@h/db?options=-c+x") ==
          "postgresql://u@h/db?options=-c%2Bx%20-c%20client_connection_check_interval%3D2000");
  }
  SUBCASE("without the client check (PostgreSQL 13, or a path that refuses options), options are left alone") {
    CHECK(url_for("postgresql://db/app?options=-c%20x%3D1", false) == "postgresql://db/app?options=-c%20x%3D1");
  }
}

TEST_CASE("The files digest changes with any file's name, place or bytes, and skips caches") {
  ScratchDir dir;
  dir.write("versions/001_a.py", "revision = 'a'\n");
  dir.write("knexfile.js", "module.exports = {}\n");
  const auto first = migration_files_digest(dir.path);
  REQUIRE(first);
  CHECK(migration_files_digest(dir.path) == first);
  SUBCASE("caches and dot-directories do not count") {
    dir.write("versions/__pycache__/001_a.cpython-311.pyc", "bytecode");
    dir.write("node_modules/knex/index.js", "x");
    dir.write(".git/HEAD", "ref");
    CHECK(migration_files_digest(dir.path) == first);
  }
  SUBCASE("a changed byte") {
    dir.write("knexfile.js", "module.exports = {};\n");
    CHECK(migration_files_digest(dir.path) != first);
  }
  SUBCASE("a new file") {
    dir.write("versions/002_b.py", "");
    CHECK(migration_files_digest(dir.path) != first);
  }
  SUBCASE("a file moved to another directory") {
    std::filesystem::rename(dir.path / "knexfile.js", dir.path / "versions/knexfile.js");
    CHECK(migration_files_digest(dir.path) != first);
  }
  SUBCASE("the same files elsewhere") {
    ScratchDir other;
    other.write("versions/001_a.py", "revision = 'a'\n");
    other.write("knexfile.js", "module.exports = {}\n");
    CHECK(migration_files_digest(other.path) == first);
  }
  CHECK_FALSE(migration_files_digest(dir.path / "missing"));
}
