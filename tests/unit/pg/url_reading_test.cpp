// migrate-init's own reading of a connection setting (where its passwords are, what libpq
// would misread), the libpq parse errors it shows, and validate_database_url on the
// probe's examples (issue 14, item 4).
#include "log.hpp"
#include "pg/connect.hpp"
#include "pg/url_reading.hpp"
#include "usage_error.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace migrate_init;
using pg::parse_error_without_url;
using pg::read_url;

namespace {

bool holds(const std::vector<std::string>& passwords, const std::string& password) {
  return std::find(passwords.begin(), passwords.end(), password) != passwords.end();
}

// The message validate_database_url refuses `url` with, the secrets it registered
// applied as the log applies them.
std::string refusal_as_logged(const std::string& url) {
  forget_log_secrets();
  return redact_with_log_secrets(test::usage_error_message_of([&] { pg::validate_database_url(url, "DATABASE_URL"); }));
}

} // namespace

TEST_CASE("read_url finds a URI's userinfo password as written and decoded, under both readings") {
  const auto reading = read_url("postgresql://app:p%40ss%2Fw@db:5432/app");
  CHECK(reading.problem.empty());
  CHECK(reading.foreign_scheme.empty());
  CHECK(holds(reading.passwords, "p%40ss%2Fw"));
  CHECK(holds(reading.passwords, "p@ss/w"));
  SUBCASE("a raw '?', ':' or '#' is read by libpq as we read it") {
    for (const std::string url :
         {"postgresql://u:pa?ss@h/db", "postgres://u:pa:ss@h/db", "postgresql://u:p#ss@h/db?sslmode=disable"}) {
      CAPTURE(url);
      CHECK(read_url(url).problem.empty());
      CHECK(read_url(url).passwords.size() == 1);
    }
  }
}

TEST_CASE("read_url refuses a URI whose userinfo libpq would cut short, without quoting it") {
  for (const std::string url : {"postgresql://u:Tr0ub4dor@horse-battery@host/db", "postgresql://u:s3cr3t/horse@host/db",
                                "postgres://u:a@b/c@host:5432/db", "postgresql://us@er:pw@host/db",
                                "postgresql://u:pw@host/db?application_name=a@b"}) {
    CAPTURE(url);
    const auto reading = read_url(url);
    CHECK(reading.problem.find("percent-encode") != std::string::npos);
    CHECK(reading.problem.find("%40") != std::string::npos);
    CHECK(reading.problem.find("%2F") != std::string::npos);
    CHECK(reading.problem.find("host/") == std::string::npos);
  }
  SUBCASE("the generous reading and libpq's are both kept") {
    const auto reading = read_url("postgresql://u:Tr0ub4dor@horse-battery@host/db");
    CHECK(holds(reading.passwords, "Tr0ub4dor@horse-battery"));
    CHECK(holds(reading.passwords, "Tr0ub4dor"));
  }
  SUBCASE("an '@' with no password before it is no password's") {
    CHECK(read_url("postgresql://host/db?application_name=a@b").problem.empty());
    CHECK(read_url("postgresql://host/db?application_name=a@b").passwords.empty());
  }
}

TEST_CASE("read_url finds query-string passwords up to the next '&' and up to the next keyword") {
  const auto reading = read_url("postgresql://h/db?user=u&password=horse%zzbattery&sslmode=require");
  CHECK(holds(reading.passwords, "horse%zzbattery"));
  const auto split = read_url("postgresql://h/db?password=ab&cd&sslmode=require");
  CHECK(holds(split.passwords, "ab"));
  CHECK(holds(split.passwords, "ab&cd"));
  CHECK(holds(read_url("postgres://h/db?SSLPASSWORD=k%20ey").passwords, "k ey"));
  SUBCASE("given libpq's keywords, an unknown key= does not end the generous reading") {
    const auto known = read_url("postgresql://h/db?password=ab&secretkey=1&sslmode=require", pg::libpq_keywords());
    CHECK(holds(known.passwords, "ab"));
    CHECK(holds(known.passwords, "ab&secretkey=1"));
    const auto conninfo = read_url("password=ab secretkey=1 sslmode=require", pg::libpq_keywords());
    CHECK(holds(conninfo.passwords, "ab secretkey=1"));
  }
}

TEST_CASE("read_url finds conninfo passwords: unquoted, escaped, quoted, unterminated, spaced") {
  CHECK(holds(read_url("host=db password=horse\\ battery-staple dbname=x").passwords, "horse battery-staple"));
  CHECK(holds(read_url("host=db password=horse\\ battery-staple dbname=x").passwords, "horse\\ battery-staple"));
  CHECK(holds(read_url("password = 'it\\'s a \\\\secret' user=x").passwords, "it's a \\secret"));
  CHECK(holds(read_url("host=db password='never closed user=x").passwords, "never closed user=x"));
  SUBCASE("a password written with bare spaces reaches to the next keyword=") {
    const auto reading = read_url("host=db password=horse battery staple dbname=x");
    CHECK(holds(reading.passwords, "horse"));
    CHECK(holds(reading.passwords, "horse battery staple"));
  }
  SUBCASE("a quote inside a quoted value that is not followed by a keyword does not end it") {
    CHECK(holds(read_url("password='abc'def' user=x").passwords, "abc'def"));
  }
  CHECK(holds(read_url("sslpassword=k3y PASSWORD=Upper").passwords, "Upper"));
  CHECK(read_url("host=db user=app dbname=app").passwords.empty());
}

TEST_CASE("read_url names a scheme libpq does not take for a URI, and still finds its password") {
  for (const std::string scheme : {"mysql://", "postgresql+psycopg2://", "POSTGRES://", "postgresql+asyncpg://"}) {
    CAPTURE(scheme);
    const auto reading = read_url(scheme + "app:s3cr3t-pw@db/app");
    CHECK(reading.foreign_scheme == scheme);
    CHECK(holds(reading.passwords, "s3cr3t-pw"));
  }
  SUBCASE("and reads it as conninfo too, as libpq does") {
    CHECK(holds(read_url("s://rdb:54w password='h/@x-pw' user=x").passwords, "h/@x-pw"));
  }
}

TEST_CASE("parse_error_without_url keeps a plain keyword and masks any other quoted piece") {
  const std::vector<std::string> passwords{"horse battery", "Tr0ub4dor"};
  CHECK(parse_error_without_url("invalid URI query parameter: \"foo\"", passwords) ==
        "invalid URI query parameter: \"foo\"");
  CHECK(parse_error_without_url("invalid connection option \"bogus\"", passwords) ==
        "invalid connection option \"bogus\"");
  CHECK(parse_error_without_url("missing \"=\" after \"battery\" in connection info string", passwords) ==
        "missing \"=\" after \"****\" in connection info string");
  CHECK(parse_error_without_url("invalid percent-encoded token: \"horse%zzbattery\"", passwords) ==
        "invalid percent-encoded token: \"****\"");
  CHECK(parse_error_without_url("missing \"=\" after \"mysql://u:ab@h/d\" in connection info string", {}) ==
        "missing \"=\" after \"****\" in connection info string");
  CHECK(parse_error_without_url("extra key/value separator \"=\" in URI query parameter: \"a=b\"c\"", {}) ==
        "extra key/value separator \"=\" in URI query parameter: \"****\"");
  CHECK(parse_error_without_url("forbidden value %00 in percent-encoded value: \"ab%00\"", {}) ==
        "forbidden value %00 in percent-encoded value: \"****\"");
  SUBCASE("a short piece of a password is masked too") {
    CHECK(parse_error_without_url("missing \"=\" after \"b\" in connection info string", {"a b c"}) ==
          "missing \"=\" after \"****\" in connection info string");
  }
  SUBCASE("the unexpected character and the URI are left out, the position kept") {
    CHECK(parse_error_without_url("unexpected character \"!\" at position 21 in URI (expected \":\" or \"/\"): "
                                  "\"postgresql://[::1]!x/db\"",
                                  {}) == "unexpected character at position 21 in URI (expected \":\" or \"/\")");
  }
  SUBCASE("a message that quotes nothing is kept; an unknown one is replaced") {
    CHECK(parse_error_without_url("unterminated quoted string in connection info string", {}) ==
          "unterminated quoted string in connection info string");
    const std::string unknown = parse_error_without_url("Fehlendes \"=\" nach \"geheim\"", {});
    CHECK(unknown.find("geheim") == std::string::npos);
    CHECK(unknown.find("not shown") != std::string::npos);
  }
}

// The probe's four examples, through validate_database_url and the log's redaction.
TEST_CASE("validate_database_url refuses a raw '@' or '/' in the password, naming the setting, quoting nothing") {
  for (const std::string url : {"postgresql://u:Tr0ub4dor@horse-battery@db/app", "postgresql://u:s3cr3t/horse@db/app"}) {
    CAPTURE(url);
    const std::string message = refusal_as_logged(url);
    CHECK(message.starts_with("DATABASE_URL: the URL's user name or password holds a raw '@' or '/'"));
    for (const char* piece : {"Tr0u", "horse", "batt", "s3cr", "db/app"}) CHECK(message.find(piece) == std::string::npos);
  }
}

TEST_CASE("validate_database_url never quotes a bad percent-encoding in a query-string password") {
  const std::string message = refusal_as_logged("postgresql://h/db?password=horse%zzbattery");
  CHECK(message == "DATABASE_URL is not a valid PostgreSQL URI or conninfo: invalid percent-encoded token: \"****\"");
}

TEST_CASE("validate_database_url registers an escaped conninfo password whole, so no piece of it is logged") {
  forget_log_secrets();
  pg::validate_database_url("host=127.0.0.1 port=5432 password=horse\\ battery-staple dbname=x", "DATABASE_URL");
  CHECK(redact_with_log_secrets("connecting to host=127.0.0.1 port=5432 password=horse\\ battery-staple dbname=x") ==
        "connecting to host=127.0.0.1 port=5432 password=**** dbname=x");
  CHECK(redact_with_log_secrets("server said: \"battery-staple\"") == "server said: \"****\"");
  CHECK(redact_with_log_secrets("ERROR: invalid input syntax for type integer: \"horse battery\"") ==
        "ERROR: invalid input syntax for type integer: \"****\"");
}

TEST_CASE("validate_database_url masks a stray word that may be the rest of an unquoted password") {
  CHECK(refusal_as_logged("host=db password=horse battery-staple") ==
        "DATABASE_URL is not a valid PostgreSQL URI or conninfo: missing \"=\" after \"****\" in connection info string");
  CHECK(refusal_as_logged("host=db password=topsecret-value bogus").find("bogus") == std::string::npos);
}

TEST_CASE("validate_database_url masks an unknown key that may be the rest of a raw query-string password") {
  CHECK(refusal_as_logged("postgresql://h/db?password=ab&secretkey=1") ==
        "DATABASE_URL is not a valid PostgreSQL URI or conninfo: invalid URI query parameter: \"****\"");
  CHECK(refusal_as_logged("postgresql://u:pw@h/db?foo=bar") ==
        "DATABASE_URL is not a valid PostgreSQL URI or conninfo: invalid URI query parameter: \"foo\"");
}

TEST_CASE("validate_database_url tells a URL with a foreign scheme what libpq wants") {
  CHECK(refusal_as_logged("mysql://app:pw@db/app") ==
        "DATABASE_URL is not a valid PostgreSQL URI or conninfo: missing \"=\" after \"****\" in connection info "
        "string (a URL starts with postgresql:// or postgres://, not mysql://)");
  SUBCASE("a driver part that is not a plain name stays foreign") {
    CHECK(refusal_as_logged("postgresql+psy-copg://app:pw@db/app") ==
          "DATABASE_URL is not a valid PostgreSQL URI or conninfo: missing \"=\" after \"****\" in connection info "
          "string (a URL starts with postgresql:// or postgres://, not postgresql+psy-copg://)");
  }
}

TEST_CASE("libpq_url drops the driver of an SQLAlchemy URL and leaves every other text as it is") {
  CHECK(pg::libpq_url("postgresql+psycopg2://app:pw@db:5433/app?sslmode=require") ==
        "postgresql://app:pw@db:5433/app?sslmode=require");
  CHECK(pg::libpq_url("postgresql+psycopg://app@db/app") == "postgresql://app@db/app");
  CHECK(pg::libpq_url("postgresql+asyncpg://app@db/app") == "postgresql://app@db/app");
  CHECK(pg::libpq_url("postgres+pg8000://db/app") == "postgres://db/app");
  for (const std::string same : {"postgresql://app@db/app", "host=db user=app", "postgresql+://db/app",
                                 "postgresql+psy-copg://db/app", "mysql+pymysql://db/app", "postgresql+psycopg2",
                                 "", "host=db application_name=postgresql+x://y"}) {
    CAPTURE(same);
    CHECK(pg::libpq_url(same) == same);
  }
}

TEST_CASE("validate_database_url accepts an SQLAlchemy URL and hides its password") {
  forget_log_secrets();
  CHECK_NOTHROW(pg::validate_database_url("postgresql+psycopg2://app:Xy7-Qz9w@127.0.0.1:5432/app", "DATABASE_URL"));
  CHECK(redact_with_log_secrets("migrator: connecting with Xy7-Qz9w") == "migrator: connecting with ****");
  CHECK_THROWS_AS(pg::validate_database_url("postgresql+asyncpg://app@db:99999/app", "DATABASE_URL"), UsageError);
}

TEST_CASE("validate_database_url does not register whole URLs: their pieces would mask every line") {
  forget_log_secrets();
  pg::validate_database_url("postgresql://app:Xy7-Qz9w@127.0.0.1:5432/app", "DATABASE_URL");
  CHECK(redact_with_log_secrets("connecting to postgresql://other@db/app; applied 3 migrations") ==
        "connecting to postgresql://other@db/app; applied 3 migrations");
  CHECK(redact_with_log_secrets("leaked Xy7-Qz9w and a piece: 7-Qz9") == "leaked **** and a piece: ****");
}

// Issue 20, item 5: migrate-init's rendering of a setting masks the password field only.
TEST_CASE("shown_url masks the password only and marks the user, hosts, ports and database plain") {
  const auto plain_parts = [](const Rendering& shown) {
    std::vector<std::string> parts;
    for (const auto& [begin, end] : shown.plain) parts.push_back(shown.text.substr(begin, end - begin));
    return parts;
  };
  using Parts = std::vector<std::string>;
  SUBCASE("a URI") {
    const Rendering shown = pg::shown_url("postgresql://teama:teama-secret-1@127.0.0.1:55432/teama_dirty");
    CHECK(shown.text == "postgresql://teama:****@127.0.0.1:55432/teama_dirty");
    CHECK(plain_parts(shown) == Parts{"teama", "127.0.0.1:55432/teama_dirty"});
  }
  SUBCASE("a URI's query string is not plain, its password is masked") {
    const Rendering shown = pg::shown_url("postgres://u@h1,h2:5433/d?sslmode=require&password=teama-x");
    CHECK(shown.text == "postgres://u@h1,h2:5433/d?sslmode=require&password=****");
    CHECK(plain_parts(shown) == Parts{"u", "h1,h2:5433/d"});
  }
  SUBCASE("a URI without user") {
    CHECK(plain_parts(pg::shown_url("postgresql://db/app")) == Parts{"db/app"});
  }
  SUBCASE("a URI read two ways shows nothing plain") {
    const Rendering shown = pg::shown_url("postgresql://u:pa/ss@h/d");
    CHECK(shown.text == "postgresql://u:****@h/d");
    CHECK(shown.plain.empty());
    CHECK(pg::shown_url("postgresql://u@h/d?password=a@b").plain.empty());
  }
  SUBCASE("a conninfo") {
    const Rendering shown = pg::shown_url("host=127.0.0.1 port=5432 user=teama password=teama-secret-1 dbname=teama_dirty sslmode=prefer");
    CHECK(shown.text == "host=127.0.0.1 port=5432 user=teama password=**** dbname=teama_dirty sslmode=prefer");
    CHECK(plain_parts(shown) == Parts{"127.0.0.1", "5432", "teama", "teama_dirty"});
  }
  SUBCASE("a conninfo read as libpq reads it: quoted and escaped values, any whitespace") {
    const Rendering shown = pg::shown_url("user='te am' password='a b\\'c'  dbname=d\\ 1\tport = 5432");
    CHECK(shown.text == "user='te am' password=****  dbname=d\\ 1\tport = 5432");
    CHECK(plain_parts(shown) == Parts{"'te am'", "d\\ 1", "5432"});
    CHECK(shown.read == Parts{"te am", "d 1", "5432"});
  }
  SUBCASE("a conninfo libpq would refuse shows nothing plain") {
    for (const std::string text : {"user=u password=a b dbname=d", "user=u password='a b dbname=d", "user=u =x"}) {
      CAPTURE(text);
      CHECK(pg::shown_url(text).plain.empty());
      CHECK(pg::shown_url(text).text.find("a b") == std::string::npos);
    }
  }
  CHECK(pg::shown_url("").text.empty());
}

TEST_CASE("Through the log: the start line shows the user and database a password holds, not the password") {
  forget_log_secrets();
  const std::string url = "postgresql://teama:teama-secret-1@127.0.0.1:55432/teama_dirty";
  pg::validate_database_url(url, "DATABASE_URL");
  const Rendering shown = pg::shown_url(url);
  add_log_rendering(shown);
  CHECK(redact_with_log_secrets("connecting to " + shown.text) ==
        "connecting to postgresql://teama:****@127.0.0.1:55432/teama_dirty");
  CHECK(redact_with_log_secrets("connecting to " + url) == "connecting to postgresql://****:****@127.0.0.1:55432/****_dirty");
  CHECK(redact_with_log_secrets("FATAL: password authentication failed for \"teama-secret-1\"") ==
        "FATAL: password authentication failed for \"****\"");
  forget_log_secrets();
}

namespace {

// The start line as the log writes it, after validate_database_url registered the
// setting's passwords (as migrate-init's Session does).
std::string start_line(const std::string& url) {
  forget_log_secrets();
  pg::validate_database_url(url, "DATABASE_URL");
  const Rendering shown = pg::shown_url(url);
  add_log_rendering(shown);
  return redact_with_log_secrets("connecting to " + shown.text);
}

} // namespace

// The fuzz target's finding (fuzz/corpus/fuzz_log_redaction/found_host_holds_most_of_password):
// A held a ':', so the password libpq reads is "5:" and the fuzzer's password, and the host
// held the fuzzer's password whole; the first take showed it, as no part held "5:..." whole.
TEST_CASE("The start line never shows a host, user or database holding most of the password") {
  const std::string password = "rb-ehosatte\x99" "a";
  const std::string url = "postgresql+psycopg2://gmto" + std::string(10, '\xff') + "rdb:5:" + password + "@43\x04\t" +
                          password + "42/";
  const std::string line = start_line(url);
  CHECK(line == "connecting to postgresql+psycopg2://gmto" + std::string(10, '\xff') + "rdb:****@****");
  CHECK(line.find(password) == std::string::npos);
  forget_log_secrets();
}

TEST_CASE("The start line: what the password reveals is masked, the rest shown, in every form of setting") {
  using Case = std::pair<std::string, std::string>;
  for (const auto& [url, expected] : std::vector<Case>{
           // The issue's: the password holds the user and the database.
           {"postgresql://teama:teama-secret-1@127.0.0.1:55432/teama_dirty",
            "postgresql://teama:****@127.0.0.1:55432/teama_dirty"},
           // Percent-encoded: neither form of the password, both forms of the user shown.
           {"postgresql://te%61mb:teamb%2Dsecret%2D2@127.0.0.1:55432/teamb_dirty",
            "postgresql://te%61mb:****@127.0.0.1:55432/teamb_dirty"},
           {"postgresql://%61dmin:admin@h/d", "postgresql://****:****@h/d"},
           {"postgresql://admin:%61dmin@h/d", "postgresql://****:****@h/d"},
           // A password equal to the user, the host, the port or the database name.
           {"postgresql://admin:admin@h/d", "postgresql://****:****@h/d"},
           {"postgresql://u:dbhost@dbhost:5432/d", "postgresql://u:****@****"},
           {"postgresql://u:5432@h:5432/d", "postgresql://u:****@****"},
           {"postgresql://u:appdb@h/appdb", "postgresql://u:****@****"},
           // Shorter than a piece (not searched in free text): masked where a part holds it.
           {"postgresql://abc:abc@h/d", "postgresql://****:****@h/d"},
           // A password that is a piece of the database name (more than half of it).
           {"postgresql://u:dirty@h/teama_dirty", "postgresql://u:****@****"},
           // Multi-host, query-string password (then the userinfo's is one too).
           {"postgresql://teama@h1:5432,h2:5433/teama_dirty?password=teama-secret-1&sslmode=prefer",
            "postgresql://teama@h1:5432,h2:5433/teama_dirty?password=****&sslmode=prefer"},
           {"postgresql://u:teama@h1,h2/teama?password=other-secret", "postgresql://u:****@****?password=****"},
           // An empty password hides nothing.
           {"postgresql://teama:@h/teama_dirty", "postgresql://teama:****@h/teama_dirty"},
           // conninfo, quoted and escaped too.
           {"host=127.0.0.1 port=55432 user=teama password=teama-secret-1 dbname=teama_dirty",
            "host=127.0.0.1 port=55432 user=teama password=**** dbname=teama_dirty"},
           {"user=teama password='teama secret\\'1' dbname='teama dirty'",
            "user=teama password=**** dbname='teama dirty'"},
           {"user=ad\\min password=admin dbname=d", "user=**** password=**** dbname=d"},
           {"user='admin' password=admin dbname=d", "user=**** password=**** dbname=d"},
       }) {
    CAPTURE(url);
    CHECK(start_line(url) == "connecting to " + expected);
  }
  forget_log_secrets();
}

TEST_CASE("The start line: a password from PGPASSWORD is not shown by the user, host or database either") {
  setenv("PGPASSWORD", "teama", 1);
  CHECK(start_line("postgresql://teama@h/teama_dirty") == "connecting to postgresql://****@****");
  setenv("PGPASSWORD", "teama-secret-1", 1);
  CHECK(start_line("postgresql://teama@h/teama_dirty") == "connecting to postgresql://teama@h/teama_dirty");
  unsetenv("PGPASSWORD");
  forget_log_secrets();
}
