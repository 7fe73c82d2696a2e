#include "redact.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace migrate_init;

TEST_CASE("redact hides the password of postgres:// and postgresql:// URIs") {
  CHECK(redact("postgres://user:pass@host/db") == "postgres://user:****@host/db");
  CHECK(redact("postgresql://user:pass@host:5432/db") == "postgresql://user:****@host:5432/db");
  CHECK(redact("connecting to postgres://app:s3cr3t@db.internal/app now") ==
        "connecting to postgres://app:****@db.internal/app now");
  CHECK(redact("postgres://user:@host/db") == "postgres://user:****@host/db");
  CHECK(redact("postgres://:pw@host/db") == "postgres://:****@host/db");
}

TEST_CASE("redact matches the URI scheme in any case and keeps it as written") {
  CHECK(redact("POSTGRES://user:pass@host/db") == "POSTGRES://user:****@host/db");
  CHECK(redact("PostgreSQL://user:pass@host/db") == "PostgreSQL://user:****@host/db");
}

TEST_CASE("redact hides the password of SQLAlchemy-style postgresql+driver:// URIs") {
  CHECK(redact("postgresql+psycopg2://user:pw@host/db") == "postgresql+psycopg2://user:****@host/db");
  CHECK(redact("postgres+asyncpg://user:pw@host/db") == "postgres+asyncpg://user:****@host/db");
  CHECK(redact("postgresql+://user:pw@host/db") == "postgresql+://user:****@host/db");
}

TEST_CASE("redact hides URI passwords with special characters, raw or percent-encoded") {
  SUBCASE("raw @") { CHECK(redact("postgres://user:p@ss@host/db") == "postgres://user:****@host/db"); }
  SUBCASE("raw /") { CHECK(redact("postgres://user:pa/ss@host/db") == "postgres://user:****@host/db"); }
  SUBCASE("raw :") { CHECK(redact("postgres://user:pa:ss@host/db") == "postgres://user:****@host/db"); }
  SUBCASE("raw % and #") { CHECK(redact("postgres://user:p%#x@host/db") == "postgres://user:****@host/db"); }
  SUBCASE("all of them together") {
    CHECK(redact("postgresql://user:p@ss/w:rd%#@host:5432/db?sslmode=require") ==
          "postgresql://user:****@host:5432/db?sslmode=require");
  }
  SUBCASE("percent-encoded") {
    CHECK(redact("postgres://user:p%40ss%2Fw%3A%25%23@host/db") == "postgres://user:****@host/db");
  }
}

TEST_CASE("redact leaves a URI without a password unchanged") {
  for (const char* uri : {"postgres://user@host/db", "postgres://host/db", "postgres://host:5432/db",
                          "postgresql:///db?host=/var/run/postgresql", "postgres://user@[::1]:5432/db"}) {
    CAPTURE(uri);
    CHECK(redact(uri) == uri);
  }
}

TEST_CASE("redact errs towards hiding more when the query string holds an @") {
  // The last '@' is taken as the end of the userinfo: safe for any password, at the cost
  // of hiding host and database when a query value holds an '@'.
  CHECK(redact("postgres://u:p@h/db?options=a@b:c") == "postgres://u:****@b:c");
}

TEST_CASE("redact hides URI passwords with a slash before a question mark, and with quotes") {
  CHECK(redact("postgres://migrator:a/b?c@d@db/app") == "postgres://migrator:****@db/app");
  CHECK(redact("postgres://migrator:p@ss:w/rd?#1@db:5432/x") == "postgres://migrator:****@db:5432/x");
  CHECK(redact("url \"postgres://u:it's\"quoted@db/app\" failed") == "url \"postgres://u:****@db/app\" failed");
}

TEST_CASE("redact hides password parameters in URI query strings") {
  CHECK(redact("postgres://host/db?password=x&sslmode=require") ==
        "postgres://host/db?password=****&sslmode=require");
  CHECK(redact("postgres://user@host/db?sslmode=require&password=hunter2") ==
        "postgres://user@host/db?sslmode=require&password=****");
}

TEST_CASE("redact hides password parameters in conninfo strings") {
  SUBCASE("plain value") {
    CHECK(redact("host=db password=secret dbname=app") == "host=db password=**** dbname=app");
  }
  SUBCASE("spaces around = and a quoted value with an escaped quote") {
    CHECK(redact("host=db password = 'quoted \\' value' dbname=app") == "host=db password = **** dbname=app");
  }
  SUBCASE("a quoted value with spaces") {
    CHECK(redact("password='a b c' user=x") == "password=**** user=x");
  }
  SUBCASE("an unterminated quoted value hides the rest") {
    CHECK(redact("password='never closed user=x") == "password=****");
  }
  SUBCASE("sslpassword") { CHECK(redact("sslkey=k.pem sslpassword=abc x") == "sslkey=k.pem sslpassword=**** x"); }
  SUBCASE("the keyword in any case") {
    CHECK(redact("PGPASSWORD=hunter2 exec") == "PGPASSWORD=**** exec");
    CHECK(redact("Password=Secret") == "Password=****");
  }
  SUBCASE("at the end of the text") { CHECK(redact("user=a password=xyz") == "user=a password=****"); }
  SUBCASE("an unquoted value with backslash escapes runs past the escaped spaces") {
    CHECK(redact("host=db password=horse\\ battery-staple dbname=x") == "host=db password=**** dbname=x");
    CHECK(redact("password=a\\\\ b") == "password=**** b"); // an escaped backslash, then a real space
  }
}

TEST_CASE("redact leaves the word password alone when no value follows") {
  const std::string message = "FATAL:  password authentication failed for user \"app\"";
  CHECK(redact(message) == message);
  CHECK(redact("no password supplied") == "no password supplied");
}

// In conninfo, an unquoted value runs to the next space: '&' and '"' are ordinary
// characters there. Stopping at them (right for URI query strings) shows the rest.
TEST_CASE("redact hides a whole unquoted conninfo password containing & or a double quote") {
  SUBCASE("&") { CHECK(redact("host=db password=se&cret user=x") == "host=db password=**** user=x"); }
  SUBCASE("double quote") { CHECK(redact("host=db password=ab\"cd user=x") == "host=db password=**** user=x"); }
}

// libpq reads the userinfo up to the first '@' or '/', so it accepts a raw '?' in the
// password; the redactor cuts the userinfo at '?' and then finds no '@', so the password stays.
TEST_CASE("redact hides a URI password containing a raw question mark") {
  CHECK(redact("postgres://user:pa?ss@host/db") == "postgres://user:****@host/db");
}

TEST_CASE("redact handles several URIs in one line") {
  CHECK(redact("a postgres://a:b@h1/db and POSTGRESQL://c:d@h2/db\tpostgres://e:f@h3") ==
        "a postgres://a:****@h1/db and POSTGRESQL://c:****@h2/db\tpostgres://e:****@h3");
  CHECK(redact("from \"postgres://u:p1@old/db\" to 'postgres://u:p2@new/db'") ==
        "from \"postgres://u:****@old/db\" to 'postgres://u:****@new/db'");
  CHECK(redact("<postgres://u:p@h/db>") == "<postgres://u:****@h/db>");
}

TEST_CASE("redact replaces known secrets anywhere in the text") {
  CHECK(redact("the value hunter2x appears here: hunter2x!", {"hunter2x"}) == "the value **** appears here: ****!");
  CHECK(redact("hunter2xhunter2x", {"hunter2x"}) == "****"); // one run, one mask
  SUBCASE("the longest secret first, so one that contains another is masked whole") {
    CHECK(redact("s=topsecret", {"secr", "topsecret"}) == "s=****");
    CHECK(redact("s=topsecret", {"topsecret", "secr"}) == "s=****");
  }
  SUBCASE("percent-decoded URL passwords registered as secrets are found in free text") {
    CHECK(redact("libpq said: bad p@ss/w in option", {"p@ss/w"}) == "libpq said: bad **** in option");
  }
}

TEST_CASE("redact hides every piece of four or more bytes of a known secret, wherever a message cut it") {
  const std::vector<std::string> secrets{"Tr0ub4dor@horse-battery"};
  CHECK(redact("could not translate host name \"horse-battery@host\" to address", secrets) ==
        "could not translate host name \"****@host\" to address");
  CHECK(redact("port \"s3cr3t\" is not a port number", {"s3cr3t/horse"}) == "port \"****\" is not a port number");
  CHECK(redact("database \"horse@host/db\" does not exist", {"s3cr3t/horse"}) ==
        "database \"****@host/db\" does not exist");
  CHECK(redact("password=**** battery-staple", {"horse battery-staple"}) == "password=****");
  SUBCASE("pieces of two secrets side by side make one mask") {
    CHECK(redact("x abcdWXYZ y", {"abcd", "WXYZ"}) == "x **** y");
  }
  SUBCASE("a mask never leaves half a UTF-8 character") {
    // "\xa4ssw" is a piece of "p\xc3\xa4ssw...", here after another lead byte (U+0424).
    CHECK(redact("\xd0\xa4ssw!", {"p\xc3\xa4ssw\xc3\xb6rd"}) == "****!");
    CHECK(redact("x p\xc3\xa4ss y", {"p\xc3\xa4ssw\xc3\xb6rd"}) == "x **** y");
  }
  SUBCASE("nor takes in an ASCII byte before a stray continuation byte") {
    CHECK(redact("Pleho r\x90\x8d\x8c\x9a!", {"\x90\x8d\x8c\x9a\xdf"}) == "Pleho r****!");
    CHECK(redact("Plehor\x90\x8d\x8c\x9a", {"\x90\x8d\x8c\x9a\xdf", "staPlehost"}) == "Plehor****");
  }
  SUBCASE("nor a stray continuation byte after an ASCII one it ends in") {
    // A mask ending in the '/' before a rendering's user name took in the name's first bytes.
    CHECK(redact("q xab/\x9a\x9a!", {"xab/"}) == "q ****\x9a\x9a!");
    CHECK(redact("q xab\xc3\xa4!", {"xab\xc3"}) == "q ****!");
  }
}

TEST_CASE("redact leaves a short run of letters inside a longer word: a coincidence, not a leak") {
  const std::vector<std::string> secrets{"hunter2-Sup3r-secret"};
  for (const std::string text : {"interrupted by SIGTERM", "002_quote.sql:2: unterminated quoted string", "a counter"}) {
    CAPTURE(text);
    CHECK(redact(text, secrets) == text);
  }
  SUBCASE("but not a whole word, a run with other characters, or a longer run") {
    CHECK(redact("the secret file", secrets) == "the **** file");
    CHECK(redact("user hunter2", secrets) == "user ****");
    CHECK(redact("xr-sex", secrets) == "x****x");
    CHECK(redact("encountered", {"counter"}) == "en****ed");
  }
  SUBCASE("a short password is masked as a word, not inside one") {
    CHECK(redact("password authentication failed; bad word", {"word"}) == "password authentication failed; bad ****");
  }
}

TEST_CASE("redact does not search for known secrets shorter than four characters") {
  CHECK(redact("abc and abcd", {"abc"}) == "abc and abcd");
  CHECK(redact("abc and abcd", {"abcd"}) == "abc and ****");
  CHECK(redact("x", {""}) == "x");
  // The pattern rules still hide a short password.
  CHECK(redact("postgres://u:abc@h/db", {"abc"}) == "postgres://u:****@h/db");
}

TEST_CASE("redact leaves text without secrets unchanged") {
  for (const char* text : {"", "applied 3 migrations in 120 ms", "postgres is up", "postgres:/not-a-uri",
                           "user=app host=db dbname=app sslmode=require", "https://user:pass@example.com/"}) {
    CAPTURE(text);
    CHECK(redact(text) == text);
    CHECK(redact(text, {"hunter2x"}) == text);
  }
}

TEST_CASE("uri_userinfo_password reads the userinfo up to the last '@'") {
  CHECK(uri_userinfo_password("u:p@ss@h/db") == Span{2, 6});
  CHECK(uri_userinfo_password("u:@h/db") == Span{2, 2});
  CHECK_FALSE(uri_userinfo_password("u@h/db").has_value());
  CHECK_FALSE(uri_userinfo_password("h:5432/db").has_value());
}

TEST_CASE("uri_passwords finds each URI's password as written, percent-encoding and all") {
  CHECK(uri_passwords("postgresql://app:top%zzsecret@db/app") == std::vector<std::string>{"top%zzsecret"});
  CHECK(uri_passwords("a postgres://u:p%40ss@h/d and postgresql://v:w@x/y") ==
        std::vector<std::string>{"p%40ss", "w"});
  CHECK(uri_passwords("postgresql://app@db/app").empty());
  CHECK(uri_passwords("postgresql://app:@db/app").empty()); // an empty password hides nothing
  CHECK(uri_passwords("password=abc host=db").empty());     // conninfo: redact() covers it
}

// Issue 20, item 5: with the password "teama-secret-1", the user "teama" and the database
// "teama_dirty" were masked in migrate-init's own rendering of the URL.
TEST_CASE("A rendering's plain parts are shown whole where it appears whole; pieces of the password elsewhere are not") {
  const std::string shown = "postgresql://teama:****@127.0.0.1:55432/teama_dirty";
  KnownSecrets secrets;
  secrets.add("teama-secret-1");
  CHECK(redact("connecting to " + shown, secrets) == "connecting to postgresql://****:****@127.0.0.1:55432/****_dirty");
  secrets.add_rendering({shown, {{13, 18}, {24, shown.size()}}, {}});
  CHECK(redact("connecting to " + shown + "; done", secrets) == "connecting to " + shown + "; done");
  SUBCASE("free text still masks every piece of the password, and the names alone") {
    CHECK(redact("ERROR: \"teama-secret-1\" and teama_dirty", secrets) == "ERROR: \"****\" and ****_dirty");
    CHECK(redact("a piece: secret-1, and postgresql://teama:teama-secret-1@h/teama_dirty", secrets) ==
          "a piece: ****, and postgresql://****:****@h/****_dirty");
  }
  SUBCASE("a plain part holding a whole password is masked whole, and so is any other holding a piece of it") {
    KnownSecrets same;
    same.add("teama");
    same.add_rendering({"postgresql://teama:****@h/teama_dirty", {{13, 18}, {24, 37}}, {}});
    CHECK(redact("postgresql://teama:****@h/teama_dirty", same) == "postgresql://****:****@****");
    same.add_rendering({"postgresql://teama:****@h/other", {{13, 18}, {24, 31}}, {}});
    CHECK(redact("postgresql://teama:****@h/other", same) == "postgresql://****:****@h/other");
  }
}

// The reverted first take showed a plain part unless it held a password whole: the fuzz
// target found a host holding all of a password but its first two bytes
// ("postgresql+psycopg2://u:5:rb-eh...@43rb-eh...42/"). The plain parts may show, together,
// half of a password at most; a password of any length is never shown whole.
TEST_CASE("A rendering's plain parts show half of a password at most, together, in any form") {
  const auto shown = [](const std::vector<std::string>& secrets, const std::string& text, std::vector<Span> plain,
                        std::vector<std::string> read = {}) {
    KnownSecrets known;
    for (const auto& secret : secrets) known.add(secret);
    known.add_rendering({text, std::move(plain), std::move(read)});
    return redact("connecting to " + text + "; done", known);
  };
  SUBCASE("the issue's passwords: user and database shown") {
    for (const std::string password : {"teama-secret-1", "teamb-secret-2"}) {
      const std::string user = password.substr(0, 5), text = "postgresql://" + user + ":****@127.0.0.1:55432/" + user + "_dirty";
      CHECK(shown({password}, text, {{13, 18}, {24, text.size()}}) == "connecting to " + text + "; done");
    }
  }
  SUBCASE("a host holding most of a password (the fuzz target's finding, in ASCII)") {
    const std::string text = "postgresql://u:****@43rb-ehosatte.a42/";
    CHECK(shown({"5:rb-ehosatte.a"}, text, {{13, 14}, {20, text.size()}}) == "connecting to postgresql://u:****@****; done");
  }
  SUBCASE("exactly half shown is shown; one byte more is not") {
    const std::string text = "postgresql://abcd:****@h/d";
    CHECK(shown({"abcd1234"}, text, {{13, 17}, {23, 26}}) == "connecting to " + text + "; done");
    CHECK(shown({"abcd123"}, text, {{13, 17}, {23, 26}}) == "connecting to postgresql://****:****@h/d; done");
  }
  SUBCASE("user and database together: each shows less than half, both more") {
    const std::string text = "postgresql://teama:****@h/secret1";
    CHECK(shown({"teama-secret1"}, text, {{13, 18}, {24, text.size()}}) ==
          "connecting to postgresql://****:****@****; done");
  }
  SUBCASE("short names that spell most of the password together (the review's app-prod, abc-def-ghi)") {
    const std::string text = "postgresql://app:****@db:5432/prod";
    CHECK(shown({"app-prod"}, text, {{13, 16}, {22, text.size()}}) == "connecting to postgresql://****:****@****; done");
    const std::string three = "postgresql://abc:****@def:5432/ghi";
    CHECK(shown({"abc-def-ghi"}, three, {{13, 16}, {22, three.size()}}) ==
          "connecting to postgresql://****:****@****; done");
    // One short name is less than half: shown.
    CHECK(shown({"app-production-key"}, text, {{13, 16}, {22, text.size()}}) == "connecting to " + text + "; done");
  }
  SUBCASE("a password equal to the user, the host, the port or the database") {
    const std::string text = "postgresql://admin:****@dbhost:6543/appdb";
    const std::vector<Span> plain{{13, 18}, {24, text.size()}};
    CHECK(shown({"admin"}, text, plain) == "connecting to postgresql://****:****@dbhost:6543/appdb; done");
    CHECK(shown({"dbhost"}, text, plain) == "connecting to postgresql://admin:****@****; done");
    CHECK(shown({"6543"}, text, plain) == "connecting to postgresql://admin:****@****; done");
    CHECK(shown({"appdb"}, text, plain) == "connecting to postgresql://admin:****@****; done");
  }
  SUBCASE("a password shorter than a piece, held whole by a part") {
    const std::string text = "postgresql://abc:****@h/d";
    CHECK(shown({"abc"}, text, {{13, 16}, {22, 25}}) == "connecting to postgresql://****:****@h/d; done");
    CHECK(shown({"xyz"}, text, {{13, 16}, {22, 25}}) == "connecting to " + text + "; done");
  }
  SUBCASE("a part that is the password percent-encoded, or escaped as libpq reads it") {
    const std::string text = "postgresql://%61dmin:****@h/d";
    CHECK(shown({"admin"}, text, {{13, 20}, {26, 29}}) == "connecting to postgresql://****:****@h/d; done");
    const std::string conninfo = "user=ad\\min password=**** dbname=d";
    CHECK(shown({"admin"}, conninfo, {{5, 11}, {33, 34}}, {"admin", "d"}) ==
          "connecting to user=**** password=**** dbname=d; done");
  }
  SUBCASE("a password held by another password, or by a second rendering of the same URL") {
    const std::string text = "postgresql://teama:****@h/d";
    CHECK(shown({"teama-secret-1", "teama"}, text, {{13, 18}, {24, 27}}) ==
          "connecting to postgresql://****:****@h/d; done");
  }
  SUBCASE("free text around the rendering still masks every piece") {
    KnownSecrets known;
    known.add("teama-secret-1");
    const std::string text = "postgresql://teama:****@h/teama_dirty";
    known.add_rendering({text, {{13, 18}, {24, text.size()}}, {}});
    CHECK(redact("teama " + text + " teama-secret-1", known) == "**** " + text + " ****");
  }
}

TEST_CASE("redact hides the value of a password option on a command line, in shell and JSON array form") {
  CHECK(redact("migrator sh -c 'liquibase --password hunter2 update'") ==
        "migrator sh -c 'liquibase --password **** update'");
  CHECK(redact("tool -password s3cr3t migrate") == "tool -password **** migrate");
  CHECK(redact("tool --DB-Password 'two words' --x") == "tool --DB-Password '****' --x");
  CHECK(redact(R"(migrator ["tool", "--password", "hunter2", "up"])") ==
        R"(migrator ["tool", "--password", "****", "up"])");
  CHECK(redact(R"(["tool","--db-password","a \" b","up"])") == R"(["tool","--db-password","****","up"])");
  CHECK(redact("tool --password=hunter2 up") == "tool --password=**** up");
  // A generated password may start with '-'; psql's prompting --password then masks its -h.
  CHECK(redact("tool --password -Xy9z-q up") == "tool --password **** up");
  CHECK(redact("psql --password -h db") == "psql --password **** db");
}

TEST_CASE("redact leaves flags named like a password option that take no value") {
  for (const char* text : {"psql --no-password -c 'SELECT 1'", "psql --password --host db", "password authentication failed",
                           "tool --password-file /run/secrets/pw", "--password"}) {
    CAPTURE(text);
    CHECK(redact(text) == text);
  }
}

TEST_CASE("is_password_option names the options whose value is a password") {
  for (const char* word : {"--password", "-password", "--db-password", "--DATABASE-PASSWORD", "-Password"}) {
    CAPTURE(word);
    CHECK(is_password_option(word));
  }
  for (const char* word : {"password", "---password", "--no-password", "--password-file", "--passwords", "-p"}) {
    CAPTURE(word);
    CHECK_FALSE(is_password_option(word));
  }
}
