#include "setting_values.hpp"

#include "error.hpp"

#include "usage_error.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

using namespace migrate_init;
using std::chrono::milliseconds;

namespace {

// The message of the UsageError that `fn` throws; fails the test if it throws anything else.
template <class Fn>
std::string usage_error_message(Fn&& fn) {
  return test::usage_error_message_of(std::forward<Fn>(fn));
}

} // namespace

TEST_CASE("parse_bool accepts every documented spelling in any case") {
  for (const char* text : {"true", "TRUE", "True", "tRuE", "1", "yes", "YES", "Yes", "on", "ON", "On"}) {
    CAPTURE(text);
    CHECK(parse_bool("AUTO_MIGRATE", text) == true);
  }
  for (const char* text : {"false", "FALSE", "False", "fAlSe", "0", "no", "NO", "No", "off", "OFF", "Off"}) {
    CAPTURE(text);
    CHECK(parse_bool("AUTO_MIGRATE", text) == false);
  }
}

TEST_CASE("parse_bool rejects anything else with a message naming the source and the quoted value") {
  SUBCASE("a word that is not a boolean") {
    const std::string message = usage_error_message([] { parse_bool("AUTO_MIGRATE", "maybe"); });
    CHECK(message.find("AUTO_MIGRATE") == 0);
    CHECK(message.find("\"maybe\"") != std::string::npos);
    CHECK(message.find("true/false") != std::string::npos);
  }
  SUBCASE("an empty value") {
    const std::string message = usage_error_message([] { parse_bool("--fail-on-error", ""); });
    CHECK(message.find("--fail-on-error") == 0);
    CHECK(message.find("\"\"") != std::string::npos);
  }
  SUBCASE("a number other than 0 and 1") {
    const std::string message = usage_error_message([] { parse_bool("AUTO_MIGRATE", "2"); });
    CHECK(message.find("\"2\"") != std::string::npos);
  }
  SUBCASE("surrounding spaces are not trimmed") {
    const std::string message = usage_error_message([] { parse_bool("AUTO_MIGRATE", " true"); });
    CHECK(message.find("\" true\"") != std::string::npos);
    CHECK_THROWS_AS(parse_bool("AUTO_MIGRATE", "true "), UsageError);
  }
  SUBCASE("an abbreviation") {
    CHECK_THROWS_AS(parse_bool("AUTO_MIGRATE", "t"), UsageError);
    CHECK_THROWS_AS(parse_bool("AUTO_MIGRATE", "y"), UsageError);
  }
}

TEST_CASE("parse_seconds reads whole and fractional seconds as milliseconds") {
  CHECK(parse_seconds("AUTO_MIGRATE_WAIT", "30") == milliseconds(30'000));
  CHECK(parse_seconds("AUTO_MIGRATE_WAIT", "2.5") == milliseconds(2'500));
  CHECK(parse_seconds("AUTO_MIGRATE_WAIT", "0") == milliseconds(0));
  CHECK(parse_seconds("AUTO_MIGRATE_WAIT", ".5") == milliseconds(500));
  CHECK(parse_seconds("AUTO_MIGRATE_WAIT", "0.001") == milliseconds(1));
  CHECK(parse_seconds("AUTO_MIGRATE_WAIT", "007") == milliseconds(7'000));
}

TEST_CASE("parse_seconds accepts exactly ten years and no more") {
  constexpr std::int64_t ten_years_seconds = 10LL * 365 * 24 * 3600;
  CHECK(parse_seconds("AUTO_MIGRATE_WAIT", std::to_string(ten_years_seconds)) ==
        milliseconds(ten_years_seconds * 1000));
  const std::string message =
      usage_error_message([&] { parse_seconds("AUTO_MIGRATE_WAIT", std::to_string(ten_years_seconds + 1)); });
  CHECK(message.find("AUTO_MIGRATE_WAIT") == 0);
  CHECK(message.find("ten years") != std::string::npos);
}

TEST_CASE("parse_seconds rejects values that are not a plain non-negative number") {
  const char* bad = nullptr;
  SUBCASE("negative") { bad = "-1"; }
  SUBCASE("exponent") { bad = "1e3"; }
  SUBCASE("a word") { bad = "ten"; }
  SUBCASE("empty") { bad = ""; }
  SUBCASE("infinity") { bad = "inf"; }
  SUBCASE("not a number") { bad = "nan"; }
  SUBCASE("leading space") { bad = " 5"; }
  SUBCASE("trailing unit") { bad = "5s"; }
  SUBCASE("a lone point") { bad = "."; }
  SUBCASE("two points") { bad = "1.2.3"; }
  SUBCASE("explicit plus sign") { bad = "+5"; }
  SUBCASE("too large") { bad = "99999999999999"; }
  REQUIRE(bad != nullptr);
  CAPTURE(bad);
  const std::string message = usage_error_message([&] { parse_seconds("--wait", bad); });
  CHECK(message.find("--wait: ") == 0);
  CHECK(message.find(quote_value(bad)) != std::string::npos);
}

// std::stod throws std::out_of_range for a value beyond double's range (and for one that
// underflows); the digits-only check lets such text through, so it must still end as a
// UsageError (exit 2), not as an "unexpected error" (exit 1).
TEST_CASE("parse_seconds turns a number too long for a double into a UsageError") {
  SUBCASE("overflow") {
    const std::string huge(400, '9');
    CHECK_THROWS_AS(parse_seconds("AUTO_MIGRATE_WAIT", huge), UsageError);
  }
  SUBCASE("underflow") {
    const std::string tiny = "0." + std::string(400, '0') + "1";
    // Zero milliseconds is the right answer; a UsageError would be acceptable too.
    std::string outcome;
    try {
      outcome = parse_seconds("AUTO_MIGRATE_WAIT", tiny) == milliseconds(0) ? "zero" : "nonzero";
    } catch (const UsageError&) {
      outcome = "UsageError";
    } catch (const std::exception& e) {
      outcome = std::string("other exception: ") + e.what();
    }
    CHECK_MESSAGE((outcome == "zero" || outcome == "UsageError"), outcome);
  }
}

TEST_CASE("parse_int64 reads the whole signed 64-bit range") {
  CHECK(parse_int64("AUTO_MIGRATE_LOCK_KEY", "0") == 0);
  CHECK(parse_int64("AUTO_MIGRATE_LOCK_KEY", "-0") == 0);
  CHECK(parse_int64("AUTO_MIGRATE_LOCK_KEY", "42") == 42);
  CHECK(parse_int64("AUTO_MIGRATE_LOCK_KEY", "-42") == -42);
  CHECK(parse_int64("AUTO_MIGRATE_LOCK_KEY", "9223372036854775807") == std::numeric_limits<std::int64_t>::max());
  CHECK(parse_int64("AUTO_MIGRATE_LOCK_KEY", "-9223372036854775808") == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("parse_int64 rejects overflow and anything that is not only a decimal integer") {
  const char* bad = nullptr;
  SUBCASE("one above the maximum") { bad = "9223372036854775808"; }
  SUBCASE("one below the minimum") { bad = "-9223372036854775809"; }
  SUBCASE("trailing garbage") { bad = "12x"; }
  SUBCASE("a lone plus") { bad = "+"; }
  SUBCASE("a lone minus") { bad = "-"; }
  SUBCASE("empty") { bad = ""; }
  SUBCASE("leading space") { bad = " 5"; }
  SUBCASE("hexadecimal") { bad = "0x10"; }
  SUBCASE("a fraction") { bad = "1.5"; }
  REQUIRE(bad != nullptr);
  CAPTURE(bad);
  const std::string message = usage_error_message([&] { parse_int64("--lock-key", bad); });
  CHECK(message.find("--lock-key: ") == 0);
  CHECK(message.find(quote_value(bad)) != std::string::npos);
  CHECK(message.find("64-bit integer") != std::string::npos);
}

TEST_CASE("quote_value wraps in double quotes and escapes quotes, backslashes and control characters") {
  CHECK(quote_value("") == "\"\"");
  CHECK(quote_value("plain") == "\"plain\"");
  CHECK(quote_value("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(quote_value("a\\b") == "\"a\\\\b\"");
  CHECK(quote_value("line\nbreak") == "\"line\\x0abreak\"");
  CHECK(quote_value(std::string("nul\0byte", 8)) == "\"nul\\x00byte\"");
  CHECK(quote_value("tab\t") == "\"tab\\x09\"");
  // UTF-8 passes through untouched: bytes >= 0x80 are not control characters.
  CHECK(quote_value("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
}
