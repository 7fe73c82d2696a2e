#include "sql_files/sql_splitter.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

using namespace migrate_init;

namespace {

// Renders statement texts as one string, so a failed CHECK prints both sides readably.
std::string render(const std::vector<std::string>& texts) {
  std::string out = "[";
  for (const auto& text : texts) {
    if (out.size() > 1) out += ", ";
    out += "<" + text + ">";
  }
  return out + "]";
}

std::vector<std::string> texts_of(const SplitSql& split) {
  std::vector<std::string> texts;
  for (const auto& statement : split.statements) texts.push_back(statement.text);
  return texts;
}

std::string render_tokens(const std::vector<SqlToken>& tokens) {
  std::string out;
  for (const auto& token : tokens) {
    switch (token.kind) {
      case SqlToken::Kind::word: out += "word"; break;
      case SqlToken::Kind::quoted_identifier: out += "ident"; break;
      case SqlToken::Kind::string: out += "string"; break;
      case SqlToken::Kind::dollar_string: out += "dollar"; break;
      case SqlToken::Kind::number: out += "number"; break;
      case SqlToken::Kind::parameter: out += "param"; break;
      case SqlToken::Kind::symbol: out += "symbol"; break;
    }
    out += ":" + token.text + " ";
  }
  return out;
}

struct SplitCase {
  const char* description;
  std::string input;
  std::vector<std::string> expected;
};

// In C++ source a backslash is doubled: "E'\\''" is the SQL E'\''.
const std::vector<SplitCase> k_cases = {
    {"two simple statements", "SELECT 1;\nSELECT 2;\n", {"SELECT 1", "SELECT 2"}},
    {"no trailing semicolon", "SELECT 1;\nSELECT 2\n", {"SELECT 1", "SELECT 2"}},
    {"several on one line", "SELECT 1;SELECT 2;SELECT 3", {"SELECT 1", "SELECT 2", "SELECT 3"}},
    {"empty input", "", {}},
    {"only whitespace", " \n\t\r\n\f", {}},
    {"only comments", "-- one;\n/* two; */\n-- three", {}},
    {"bare semicolons", ";;\n ; ;", {}},
    {"trailing whitespace before ; is trimmed", "SELECT 1   \n\t ;", {"SELECT 1"}},
    {"leading comments are skipped", "-- header\n/* block */\n  SELECT 1;", {"SELECT 1"}},
    {"a comment at the end of input without ;", "SELECT 1 -- done", {"SELECT 1 -- done"}},

    {"semicolon in a string", "SELECT 'a;b'; SELECT 2", {"SELECT 'a;b'", "SELECT 2"}},
    {"doubled quote with ; inside", "SELECT 'it''s; fine'; SELECT 2", {"SELECT 'it''s; fine'", "SELECT 2"}},
    {"string of one quote", "SELECT ''''; SELECT 2", {"SELECT ''''", "SELECT 2"}},
    {"empty string", "SELECT ''; SELECT 2", {"SELECT ''", "SELECT 2"}},
    {"E string with escaped quote", "SELECT E'\\';'; SELECT 2", {"SELECT E'\\';'", "SELECT 2"}},
    {"E string ending in escaped backslash", "SELECT E'\\\\'; SELECT 2", {"SELECT E'\\\\'", "SELECT 2"}},
    {"lower-case e prefix", "SELECT e'x\\'y;'; SELECT 2", {"SELECT e'x\\'y;'", "SELECT 2"}},
    {"empty E string", "SELECT E''; SELECT 2", {"SELECT E''", "SELECT 2"}},
    {"standard string: backslash is literal", "SELECT 'a\\'; SELECT 2", {"SELECT 'a\\'", "SELECT 2"}},
    {"xe' is a word then a plain string", "SELECT xe'\\'; SELECT 2", {"SELECT xe'\\'", "SELECT 2"}},
    {"U& string has no backslash escapes", "SELECT U&'d\\0061t;'; SELECT 2",
     {"SELECT U&'d\\0061t;'", "SELECT 2"}},
    {"B, X and N strings", "SELECT B'10;', X'1F;', N'n;\\'; SELECT 2",
     {"SELECT B'10;', X'1F;', N'n;\\'", "SELECT 2"}},
    {"string spanning lines", "SELECT 'a;\nb;\n'; SELECT 2", {"SELECT 'a;\nb;\n'", "SELECT 2"}},

    {"quoted identifier with ; and doubled quote", "SELECT 1 AS \"a;\"\"b\"; SELECT 2",
     {"SELECT 1 AS \"a;\"\"b\"", "SELECT 2"}},
    {"U& quoted identifier", "SELECT U&\"d\\0061;\" FROM t; SELECT 2", {"SELECT U&\"d\\0061;\" FROM t", "SELECT 2"}},

    {"$$ body with ;", "SELECT $$a; b$$; SELECT 2", {"SELECT $$a; b$$", "SELECT 2"}},
    {"$tag$ with $$ inside", "SELECT $fn$ $$ ; $$ $fn$; SELECT 2", {"SELECT $fn$ $$ ; $$ $fn$", "SELECT 2"}},
    {"nested tags", "SELECT $a$ $b$ ; $b$ $a$; SELECT 2", {"SELECT $a$ $b$ ; $b$ $a$", "SELECT 2"}},
    {"closing tag is case-sensitive", "SELECT $Tag$ ; $tag$ ; $Tag$; SELECT 2",
     {"SELECT $Tag$ ; $tag$ ; $Tag$", "SELECT 2"}},
    {"tag with underscore and digits", "SELECT $_1a$ ; $_1a$; SELECT 2", {"SELECT $_1a$ ; $_1a$", "SELECT 2"}},
    {"DO block", "DO $$\nBEGIN\n  PERFORM 1;\nEND\n$$;\nSELECT 2;", {"DO $$\nBEGIN\n  PERFORM 1;\nEND\n$$", "SELECT 2"}},
    {"$1 parameter followed by ;", "PREPARE p AS SELECT $1; SELECT 2", {"PREPARE p AS SELECT $1", "SELECT 2"}},
    {"$12 parameter", "SELECT $12;SELECT 2", {"SELECT $12", "SELECT 2"}},
    {"$ then a non-tag is a symbol", "SELECT $x; SELECT $ ; SELECT 3", {"SELECT $x", "SELECT $", "SELECT 3"}},
    {"a$$b is one identifier", "SELECT a$$b; SELECT 2", {"SELECT a$$b", "SELECT 2"}},
    {"$ inside and ending identifiers", "SELECT a$b, c$ FROM t; SELECT 2", {"SELECT a$b, c$ FROM t", "SELECT 2"}},
    {"foo$$bar$$ is one identifier", "SELECT foo$$bar$$; SELECT 2", {"SELECT foo$$bar$$", "SELECT 2"}},

    {"-- comment with ;", "SELECT 1 -- a; b\n; SELECT 2", {"SELECT 1 -- a; b", "SELECT 2"}},
    {"-- comment with a quote", "SELECT 1; -- don't\nSELECT 2;", {"SELECT 1", "SELECT 2"}},
    {"block comment with ;", "SELECT /* ; */ 1; SELECT 2", {"SELECT /* ; */ 1", "SELECT 2"}},
    {"nested block comment", "SELECT /* /* ; */ ; */ 1; SELECT 2", {"SELECT /* /* ; */ ; */ 1", "SELECT 2"}},
    {"block comment with quotes", "SELECT /* it's \"x $$ */ 1; SELECT 2", {"SELECT /* it's \"x $$ */ 1", "SELECT 2"}},
    {"comments right after strings", "SELECT 'a'/* ; */; SELECT 'b'-- ;\n;",
     {"SELECT 'a'/* ; */", "SELECT 'b'-- ;"}},

    {"; inside parentheses",
     "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 2",
     {"CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))", "SELECT 2"}},
    {"a stray ) does not block later splits", "SELECT 1); SELECT 2", {"SELECT 1)", "SELECT 2"}},

    {"BEGIN ATOMIC function",
     "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3;",
     {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END", "SELECT 3"}},
    {"BEGIN ATOMIC with CASE ... END inside",
     "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;\n"
     "SELECT 3",
     {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END",
      "SELECT 3"}},
    {"BEGIN ATOMIC with nested CASE",
     "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a THEN CASE WHEN b THEN 1 END END; END; SELECT 2",
     {"CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a THEN CASE WHEN b THEN 1 END END; END",
      "SELECT 2"}},
    {"create or replace procedure, lower case",
     "create or replace procedure p() language sql begin atomic insert into t values (1); end;\nCALL p();",
     {"create or replace procedure p() language sql begin atomic insert into t values (1); end", "CALL p()"}},
    {"CREATE OR REPLACE FUNCTION with BEGIN ATOMIC",
     "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND;\nSELECT 2;",
     {"CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND", "SELECT 2"}},
    {"SQL function with RETURN splits normally",
     "CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1; SELECT 2",
     {"CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1", "SELECT 2"}},
    {"begin in a function's parentheses does not count",
     "CREATE FUNCTION f(begin int) RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql; SELECT 2",
     {"CREATE FUNCTION f(begin int) RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql", "SELECT 2"}},
    {"top-level BEGIN ... COMMIT", "BEGIN;\nSELECT 1;\nCOMMIT;", {"BEGIN", "SELECT 1", "COMMIT"}},
    {"BEGIN in a table definition", "CREATE TABLE t (begin int); SELECT 2", {"CREATE TABLE t (begin int)", "SELECT 2"}},
    {"CASE ... END outside functions", "SELECT CASE WHEN x THEN 1 END; SELECT 2",
     {"SELECT CASE WHEN x THEN 1 END", "SELECT 2"}},
    {"plpgsql function with $function$ and a quoted ;",
     "CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $function$\nBEGIN\n  RAISE NOTICE 'quoted;';\n"
     "  RETURN NEW;\nEND;\n$function$ LANGUAGE plpgsql;\nSELECT 2;",
     {"CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $function$\nBEGIN\n  RAISE NOTICE 'quoted;';\n"
      "  RETURN NEW;\nEND;\n$function$ LANGUAGE plpgsql",
      "SELECT 2"}},

    {"CREATE INDEX CONCURRENTLY statements",
     "CREATE INDEX CONCURRENTLY i1 ON t (a);\nCREATE INDEX CONCURRENTLY i2 ON t (b);\n",
     {"CREATE INDEX CONCURRENTLY i1 ON t (a)", "CREATE INDEX CONCURRENTLY i2 ON t (b)"}},
    {"COPY FROM stdin is not special", "COPY t FROM stdin;\nSELECT 2;", {"COPY t FROM stdin", "SELECT 2"}},
    {"CRLF line endings", "SELECT 1;\r\nSELECT 2;\r\n", {"SELECT 1", "SELECT 2"}},
    {"CRLF after a comment before ;", "SELECT 1 -- c\r\n;\r\n", {"SELECT 1 -- c"}},
    {"multi-byte UTF-8", "SELECT 'héllo;', naïve$x FROM tæble; SELECT '日本;'",
     {"SELECT 'héllo;', naïve$x FROM tæble", "SELECT '日本;'"}},
};

} // namespace

TEST_CASE("split_sql splits the tricky cases of the table") {
  for (const auto& c : k_cases) {
    CAPTURE(c.description);
    CAPTURE(c.input);
    const SplitSql split = split_sql(c.input);
    CHECK(render(texts_of(split)) == render(c.expected));
    CHECK_FALSE(split.unterminated.has_value());
    CHECK_FALSE(split.meta_command_line.has_value());
    // Every text is the source at its offset, starting on its line.
    for (const auto& statement : split.statements) {
      CHECK(std::string_view(c.input).substr(statement.offset, statement.text.size()) == statement.text);
      const auto newlines = std::count(c.input.begin(), c.input.begin() + static_cast<long>(statement.offset), '\n');
      CHECK(statement.line == static_cast<std::size_t>(newlines) + 1);
      CHECK_FALSE(statement.tokens.empty());
    }
  }
}

TEST_CASE("split_sql's table holds at least 35 cases") { CHECK(k_cases.size() >= 35); }

TEST_CASE("split_sql tokenizes a statement") {
  const SplitSql split = split_sql("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"Idx\" ON public.t (a);");
  REQUIRE(split.statements.size() == 1);
  CHECK(render_tokens(split.statements[0].tokens) ==
        "word:create word:unique word:index word:concurrently word:if word:not word:exists ident:Idx "
        "word:on word:public symbol:. word:t symbol:( word:a symbol:) ");
}

TEST_CASE("split_sql tokens: each kind, with its text") {
  SUBCASE("strings keep their source, identifiers are unquoted, words are lower-cased") {
    const SplitSql split = split_sql("SELECT E'a\\'', U&'b', B'1', 'c''d', $$e$$, $T$f$T$, \"Q\"\"x\", MixedCase, ÆBC");
    REQUIRE(split.statements.size() == 1);
    CHECK(render_tokens(split.statements[0].tokens) ==
          "word:select string:E'a\\'' symbol:, string:U&'b' symbol:, string:B'1' symbol:, string:'c''d' symbol:, "
          "dollar:$$e$$ symbol:, dollar:$T$f$T$ symbol:, ident:Q\"x symbol:, word:mixedcase symbol:, word:Æbc ");
  }
  SUBCASE("numbers, parameters and dollar signs") {
    const SplitSql split = split_sql("SELECT 42, 3.14, .5, 1e10, 1.5E-3, 2e, a[1..10], $1, a$b, $x");
    REQUIRE(split.statements.size() == 1);
    CHECK(render_tokens(split.statements[0].tokens) ==
          "word:select number:42 symbol:, number:3.14 symbol:, number:.5 symbol:, number:1e10 symbol:, "
          "number:1.5E-3 symbol:, number:2 word:e symbol:, word:a symbol:[ number:1 symbol:. symbol:. number:10 "
          "symbol:] symbol:, param:$1 symbol:, word:a$b symbol:, symbol:$ word:x ");
  }
  SUBCASE("comments are not tokens, and neither is the terminating ;") {
    const SplitSql split = split_sql("/* a */ SELECT -- b\n 1 /* c */;");
    REQUIRE(split.statements.size() == 1);
    CHECK(render_tokens(split.statements[0].tokens) == "word:select number:1 ");
  }
  SUBCASE("a ; that does not split is a symbol token") {
    const SplitSql split = split_sql("CREATE RULE r AS ON INSERT TO t DO (NOTIFY a; NOTIFY b);");
    REQUIRE(split.statements.size() == 1);
    CHECK(render_tokens(split.statements[0].tokens) ==
          "word:create word:rule word:r word:as word:on word:insert word:to word:t word:do symbol:( word:notify "
          "word:a symbol:; word:notify word:b symbol:) ");
  }
}

TEST_CASE("split_sql reports lines and byte offsets") {
  const std::string sql = "SELECT 1;\n\n  -- comment\n  /* block\n */ SELECT\n  'x\ny', 2;\n";
  const SplitSql split = split_sql(sql);
  REQUIRE(split.statements.size() == 2);
  CHECK(split.statements[0].offset == 0);
  CHECK(split.statements[0].line == 1);
  const SqlStatement& second = split.statements[1];
  CHECK(second.text == "SELECT\n  'x\ny', 2");
  CHECK(second.offset == sql.find("SELECT\n"));
  CHECK(second.line == 5);
  REQUIRE(second.tokens.size() == 4);
  CHECK(second.tokens[0].line == 5);
  CHECK(second.tokens[1].line == 6); // a multi-line token carries the line it starts on
  CHECK(second.tokens[3].text == "2");
  CHECK(second.tokens[3].line == 7);

  SUBCASE("CRLF gives the same lines, and offsets into the CRLF text") {
    const std::string crlf = "SELECT 1;\r\n\r\n  -- comment\r\n  /* block\r\n */ SELECT\r\n  'x\r\ny', 2;\r\n";
    const SplitSql split_crlf = split_sql(crlf);
    REQUIRE(split_crlf.statements.size() == 2);
    CHECK(split_crlf.statements[1].text == "SELECT\r\n  'x\r\ny', 2");
    CHECK(split_crlf.statements[1].offset == crlf.find("SELECT\r\n"));
    CHECK(split_crlf.statements[1].line == 5);
    CHECK(split_crlf.statements[1].tokens[3].line == 7);
  }
}

TEST_CASE("split_sql finds psql meta-commands") {
  SUBCASE("the first one's line is recorded and splitting goes on") {
    const SplitSql split = split_sql("SELECT 1;\n\n\\set x 1\nSELECT 2;\n\\i file.sql\nSELECT 3;");
    CHECK(split.meta_command_line == std::optional<std::size_t>(3));
    CHECK(render(texts_of(split)) == render({"SELECT 1", "SELECT 2", "SELECT 3"}));
    CHECK_FALSE(split.unterminated.has_value());
  }
  SUBCASE("\\i on the first line") {
    const SplitSql split = split_sql("\\i other.sql\n");
    CHECK(split.meta_command_line == std::optional<std::size_t>(1));
    CHECK(split.statements.empty());
  }
  SUBCASE("its arguments are not SQL: an apostrophe opens no string") {
    const SplitSql split = split_sql("\\echo don't\nSELECT 1;");
    CHECK(split.meta_command_line == std::optional<std::size_t>(1));
    CHECK_FALSE(split.unterminated.has_value());
    CHECK(render(texts_of(split)) == render({"SELECT 1"}));
  }
  SUBCASE("backslashes in strings, identifiers, dollar quotes and comments are not meta-commands") {
    const SplitSql split = split_sql("SELECT '\\x', E'\\\\', U&'\\0061', $$\\q$$, \"a\\b\" -- \\c\n/* \\d */;\n"
                                     "SELECT $t$\n\\set\n$t$;");
    CHECK_FALSE(split.meta_command_line.has_value());
    CHECK(split.statements.size() == 2);
  }
}

namespace {

using Kind = SqlUnterminated::Kind;

// What split_sql(sql) left open, as "kind opener line other swallowed@line", for one CHECK.
std::string open_of(const std::string& sql) {
  const SplitSql split = split_sql(sql);
  if (!split.unterminated) return "nothing";
  const SqlUnterminated& open = *split.unterminated;
  const char* const kinds[] = {"parenthesis", "string", "identifier", "dollar", "comment"};
  return std::string(kinds[static_cast<int>(open.kind)]) + " " + open.opener + " " + std::to_string(open.line) + " " +
         (open.other_line ? std::to_string(*open.other_line) : "-") + " " +
         (open.swallowed_word.empty() ? "-" : open.swallowed_word + "@" + std::to_string(open.swallowed_line));
}

} // namespace

TEST_CASE("split_sql reports unterminated constructs where they start") {
  SUBCASE("quoted string: the text so far is the last statement") {
    const SplitSql split = split_sql("SELECT 1;\nSELECT 'abc;\nmore\n");
    CHECK(open_of("SELECT 1;\nSELECT 'abc;\nmore\n") == "string ' 2 - MORE@3");
    CHECK(render(texts_of(split)) == render({"SELECT 1", "SELECT 'abc;\nmore"}));
  }
  SUBCASE("E string ending in an escaped quote") {
    CHECK(open_of("SELECT E'abc\\'; SELECT 2;") == "string ' 1 - SELECT@1");
    CHECK(split_sql("SELECT E'abc\\'; SELECT 2;").statements.size() == 1);
  }
  SUBCASE("quoted identifier") {
    const SplitSql split = split_sql("\n\nSELECT \"abc;");
    CHECK(open_of("\n\nSELECT \"abc;") == "identifier \" 3 - -");
    REQUIRE(split.statements.size() == 1);
    CHECK(split.statements[0].tokens.back().text == "abc;");
  }
  SUBCASE("dollar quote") {
    const SplitSql split = split_sql("SELECT 1;\nDO $$\nBEGIN;\n");
    CHECK(open_of("SELECT 1;\nDO $$\nBEGIN;\n") == "dollar $$ 2 - -");
    CHECK(render(texts_of(split)) == render({"SELECT 1", "DO $$\nBEGIN;"}));
  }
  SUBCASE("dollar quote closed only with another tag case") {
    CHECK(open_of("SELECT $a$ x $A$;") == "dollar $a$ 1 - -");
  }
  SUBCASE("nested block comment closed only once: the nested /* is the other suspect") {
    const SplitSql split = split_sql("SELECT 1;\n/* open /* nested */\nSELECT 2;\n");
    CHECK(open_of("SELECT 1;\n/* open /* nested */\nSELECT 2;\n") == "comment /* 2 2 -");
    CHECK(render(texts_of(split)) == render({"SELECT 1"}));
  }
  SUBCASE("block comment inside a statement") {
    CHECK(open_of("SELECT 1 /* open") == "comment /* 1 - -");
    CHECK(render(texts_of(split_sql("SELECT 1 /* open"))) == render({"SELECT 1 /* open"}));
  }
  SUBCASE("complete input has no error") {
    CHECK(open_of("SELECT 'a', \"b\", $$c$$ /* d */;") == "nothing");
    CHECK(open_of("SELECT (1;2); SELECT 3);SELECT 4") == "nothing"); // a stray ")" is no unterminated "("
  }
}

TEST_CASE("split_sql names an unclosed parenthesis, and the statement its ';' swallowed") {
  SUBCASE("the only \"(\" of the statement: sure") {
    CHECK(open_of("BEGIN;\nCREATE INDEX i ON t (a;\nCOMMIT;\n") == "parenthesis \"(\" 2 - COMMIT@3");
  }
  SUBCASE("a ';' inside parentheses that closed is not the one swallowed") {
    CHECK(open_of("SELECT (a;b), (c;\nCOMMIT;") == "parenthesis \"(\" 1 - COMMIT@2");
  }
  SUBCASE("another \"(\" opened after the unclosed one: a guess, naming the last") {
    CHECK(open_of("CREATE TABLE t (\n a int,\n b numeric(10, 2,\n c int\n);\nSELECT 1;") ==
          "parenthesis \"(\" 1 3 SELECT@6");
  }
  SUBCASE("no ';' after it: nothing swallowed") {
    CHECK(open_of("SELECT f(1") == "parenthesis \"(\" 1 - -");
  }
  SUBCASE("a quote left open inside it is what is named") {
    CHECK(open_of("INSERT INTO t VALUES ('a);\nCOMMIT;") == "string ' 1 - COMMIT@2");
  }
}

TEST_CASE("split_sql says when an earlier opener of the same kind in the statement may be the one at fault") {
  CHECK(open_of("SELECT 'a';\nSELECT 'it's';\nSELECT 1;") == "string ' 2 2 SELECT@3");
  CHECK(open_of("SELECT \"a\" , \"b;\nCOMMIT;") == "identifier \" 1 1 COMMIT@2");
  CHECK(open_of("DO $f$ x $f$; DO $g$ y $g$;\nDO $f$ z $f$ $f$;\nEND;") == "dollar $f$ 2 2 -");
  CHECK(open_of("DO $f$ x $f$;\nDO $g$ z;\nEND;") == "dollar $g$ 2 - -"); // another tag cannot pair with it
}

TEST_CASE("describe says what is open, where, what it swallowed, and 'probably' when unsure") {
  CHECK(describe(*split_sql("BEGIN;\nCREATE INDEX i ON t (a;\nCOMMIT;\n").unterminated) ==
        "unbalanced parenthesis: the \"(\" opened on line 2 is never closed, so the COMMIT on line 3 is read as part "
        "of the statement");
  CHECK(describe(*split_sql("SELECT \"a\" , \"b;").unterminated) ==
        "unterminated quoted identifier: probably the \" opened on line 1 is never closed (or a \" before it in the "
        "statement, from line 1 on, is one too many; the splitter cannot tell which)");
  CHECK(describe(*split_sql("DO $b$ x;\nEND;").unterminated) ==
        "unterminated dollar-quoted string: the $b$ opened on line 1 is never closed");
}
