// The property of issue 14, item 4: for a few hundred generated passwords, in every form a
// connection setting can hold one (URI userinfo raw and percent-encoded, ?password= raw
// and encoded, conninfo unquoted, quoted and backslash-escaped; postgres://, postgresql://
// and SQLAlchemy's postgresql+psycopg2://), with good and bad syntax around it (bad ports,
// bad percent-encoding, unknown options, stray words, unterminated quotes, raw '@' '/' '?'
// in the password), no line the log writes shows the password or a piece of it of four
// bytes, in text logs or JSON. The real path: validate_database_url (which registers the
// secrets and may refuse the URL), then the real log sink writing to stderr: the refusal,
// the "connecting to" line, libpq's connection errors built from libpq's own reading of
// the URL, and libpq's real error from connecting to a closed port.
#include "error.hpp"
#include "log.hpp"
#include "pg/connect.hpp"
#include "redact.hpp"
#include "text.hpp"

#include <doctest/doctest.h>

#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

using namespace migrate_init;

namespace {

// Everything written to stderr (fd 2) while it lives, where the real log sink writes.
class CapturedStderr {
public:
  CapturedStderr() : m_saved(dup(2)), m_file(std::tmpfile()) {
    std::fflush(stderr);
    dup2(fileno(m_file), 2);
  }
  ~CapturedStderr() {
    std::fflush(stderr);
    dup2(m_saved, 2);
    close(m_saved);
    std::fclose(m_file);
  }
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;

  // What was written since the last call.
  std::string take() {
    std::fflush(stderr);
    struct stat info {};
    fstat(fileno(m_file), &info);
    std::string out(static_cast<std::size_t>(info.st_size), '\0');
    if (!out.empty() && pread(fileno(m_file), out.data(), out.size(), 0) != info.st_size) out.clear();
    if (ftruncate(fileno(m_file), 0) != 0) out += "(could not truncate)";
    lseek(fileno(m_file), 0, SEEK_SET);
    return out;
  }

private:
  int m_saved;
  std::FILE* m_file;
};

// A TCP port on 127.0.0.1 that refuses connections while this lives (bound, never listening).
class ClosedPort {
public:
  ClosedPort() : m_fd(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length);
    m_port = ntohs(address.sin_port);
  }
  ~ClosedPort() { close(m_fd); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  int port() const { return m_port; }

private:
  int m_fd;
  int m_port = 0;
};

// ---- the passwords ----

std::string random_password(std::mt19937& random, char must_hold) {
  static const std::vector<std::string> k_specials{
      "\xc3\xa4", "\xc3\xa9", "\xe2\x82\xac", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "\xc2\xa0", // ä é € 日本 😀 nbsp
      "%zz", "%41", "%", "%2F", "\\ ", "\\'", "\\\\", "@", "/", "?", "&", "'", "\"", " ", "=", ":", "#"};
  std::uniform_int_distribution<int> length(4, 20), kind(0, 9), printable(32, 126);
  std::uniform_int_distribution<std::size_t> special(0, k_specials.size() - 1);
  std::string password;
  for (int i = length(random); i > 0; --i) {
    if (kind(random) < 3) {
      password += k_specials[special(random)];
    } else {
      password += static_cast<char>(printable(random));
    }
  }
  password.insert(password.size() / 2, 1, must_hold);
  // A run of the mask's own character would read as a mask: keep '*' single.
  for (std::size_t at = password.find("**"); at != std::string::npos; at = password.find("**")) password[at] = '+';
  return password;
}

// Every printable ASCII character held by several passwords, and the probe's examples.
std::vector<std::string> generated_passwords() {
  std::vector<std::string> passwords{"horse battery-staple", "Tr0ub4dor@horse-battery", "s3cr3t/horse",
                                     "horse%zzbattery",      "p@ss:w/rd?#1",            "it's \"quoted\"",
                                     "back\\slash'q",        "  lead trail  ",          "x&password=y",
                                     "ab&secretkey=1",       "a?b@c/d",                 "%40%2F%3F"};
  std::mt19937 random(14); // the same passwords every run
  for (int i = 0; i < 300; ++i) passwords.push_back(random_password(random, static_cast<char>(32 + i % 95)));
  return passwords;
}

// ---- the forms ----

std::string percent_encoded(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buffer;
    }
  }
  return out;
}

// Backslashes before `special` characters (and before backslashes).
std::string backslashed(const std::string& text, const std::string& special) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || special.find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

// The syntax around the password: good, or bad in one way.
struct Syntax {
  std::string port;           // "" for the closed port
  std::string dbname = "app";
  std::string uri_option;     // a key=value for the query string, or ""
  std::string conninfo_extra; // appended to conninfo strings
};

const std::vector<Syntax>& syntaxes() {
  static const std::vector<Syntax> all{
      {},                                                   // good
      {"abc", "app", "", ""},                               // a port that is not a number
      {"99999", "app", "", ""},                             // a port out of range
      {"", "d%zzb", "", ""},                                // bad percent-encoding elsewhere
      {"", "app", "foo=bar", " bogus=1"},                   // unknown options
      {"", "app", "sslmode", " stray"},                     // no '=' (a stray word)
      {"", "app", "sslmode=sometimes", " options='-c x"},   // a bad value; an unterminated quote
      {"", "app", "a=b=c", " sslmode=sometimes"},           // two '='; a bad value
  };
  return all;
}

std::vector<std::string> settings_holding(const std::string& password, const Syntax& syntax, int closed_port) {
  const std::string port = syntax.port.empty() ? std::to_string(closed_port) : syntax.port;
  const std::string host = "127.0.0.1:" + port + "/" + syntax.dbname;
  const std::string option = syntax.uri_option;
  const std::string encoded = percent_encoded(password);
  std::vector<std::string> settings;
  for (const std::string scheme : {"postgresql://", "postgres://", "postgresql+psycopg2://"}) {
    const std::string query = option.empty() ? "" : "?" + option;
    settings.push_back(scheme + "migrator:" + password + "@" + host + query);
    settings.push_back(scheme + "migrator:" + encoded + "@" + host + query);
    settings.push_back(scheme + host + "?user=migrator&password=" + encoded + (option.empty() ? "" : "&" + option));
    settings.push_back(scheme + host + "?" + (option.empty() ? "" : option + "&") + "password=" + password);
  }
  const std::string conninfo = "host=127.0.0.1 port=" + port + " user=migrator dbname=" + syntax.dbname + " password=";
  settings.push_back(conninfo + password + syntax.conninfo_extra);
  settings.push_back(conninfo + "'" + backslashed(password, "'") + "'" + syntax.conninfo_extra);
  settings.push_back(conninfo + backslashed(password, " '\t") + syntax.conninfo_extra);
  settings.push_back(conninfo + "'" + password + "'" + syntax.conninfo_extra);
  return settings;
}

// ---- what is logged ----

// libpq's own reading of `setting`: option keyword -> value; empty if it refuses it.
std::vector<std::pair<std::string, std::string>> libpq_reading(const std::string& setting) {
  std::vector<std::pair<std::string, std::string>> values;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(setting.c_str(), &error);
  PQfreemem(error);
  for (PQconninfoOption* option = options; option && option->keyword; ++option) {
    if (option->val) values.emplace_back(option->keyword, option->val);
  }
  PQconninfoFree(options);
  return values;
}

// The connection errors libpq writes about what it read (host, port, database, user), as
// migrate-init logs them while waiting and when it gives up.
std::vector<std::string> libpq_style_errors(const std::string& setting) {
  std::vector<std::string> errors;
  for (const auto& [keyword, value] : libpq_reading(setting)) {
    if (keyword == "host") {
      errors.push_back("could not translate host name \"" + value + "\" to address: Name or service not known");
      errors.push_back("connection to server at \"" + value + "\" (127.0.0.1), port 5432 failed: Connection refused");
    } else if (keyword == "port") {
      errors.push_back("invalid integer value \"" + value + "\" for connection option \"port\"");
    } else if (keyword == "dbname") {
      errors.push_back("FATAL:  database \"" + value + "\" does not exist");
    } else if (keyword == "user") {
      errors.push_back("FATAL:  password authentication failed for user \"" + value + "\"");
    }
  }
  return errors;
}

// libpq's real error for `setting`, when it names the loopback address (no name look-up).
std::optional<std::string> real_connect_error(const std::string& setting) {
  bool loopback = false;
  for (const auto& [keyword, value] : libpq_reading(setting)) loopback |= keyword == "host" && value == "127.0.0.1";
  if (!loopback) return std::nullopt;
  const char* keywords[] = {"dbname", "connect_timeout", nullptr};
  const char* values[] = {setting.c_str(), "2", nullptr};
  PGconn* connection = PQconnectdbParams(keywords, values, 1);
  std::string error = PQerrorMessage(connection);
  PQfinish(connection);
  return error;
}

// Logs what migrate-init would for `setting`: its refusal, or the start line and every
// connection error (built from libpq's reading even for a refused setting: the secrets
// registered must cover them too). Whether the setting was accepted.
bool log_what_a_run_would(const std::string& setting) {
  std::vector<std::string> errors = libpq_style_errors(setting);
  bool accepted = true;
  try {
    pg::validate_database_url(setting, "DATABASE_URL");
    log_event(spdlog::level::info, "migrate.start", "migrate-init: 5 migrations in /m; connecting to " + setting,
              {{"database", setting}});
    if (auto real = real_connect_error(setting)) errors.push_back(*real);
  } catch (const UsageError& e) {
    spdlog::error("{}", e.what());
    accepted = false;
  }
  for (const auto& error : errors) {
    log_event(spdlog::level::info, "db.waiting", "waiting for the database (attempt 1, retrying in 250 ms): " + error,
              {{"attempt", 1LL}, {"reason", error}});
    spdlog::error("cannot connect to the database: {} (not retried: check DATABASE_URL)", error);
  }
  return accepted;
}

// Whether settings_holding()'s setting number `index` is one a careful user writes for any
// password (percent-encoded, quoted and escaped, backslash-escaped), which must be accepted
// when the syntax around it is good.
bool always_valid_form(std::size_t index) {
  return index == 1 || index == 2 || index == 5 || index == 6 || index == 13 || index == 14;
}

// ---- the check ----

bool is_word_byte(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::uint32_t piece_at(std::string_view text, std::size_t pos) {
  std::uint32_t piece = 0;
  std::memcpy(&piece, text.data() + pos, sizeof piece);
  return piece;
}

// A password and its pieces of four bytes, to look for.
struct Sought {
  explicit Sought(const std::string& password_) : password(password_) {
    for (std::size_t i = 0; i + 4 <= password.size(); ++i) pieces.insert(piece_at(password, i));
  }
  std::string password;
  std::unordered_set<std::uint32_t> pieces;
};

// The first piece of the password of four bytes or more that `text` shows, "" if none. A
// mask reads as a separator; a run of at most five letters and digits inside a longer word
// is a coincidence (redact.hpp: "nter" in "interrupted").
std::string shown_piece(std::string text, const Sought& sought) {
  for (std::size_t at = text.find(k_redacted); at != std::string::npos; at = text.find(k_redacted, at + 1)) {
    text.replace(at, k_redacted.size(), "\x01");
  }
  const auto piece_starts = [&](std::size_t i) {
    return i + 4 <= text.size() && sought.pieces.contains(piece_at(text, i));
  };
  for (std::size_t begin = 0; begin < text.size(); ++begin) {
    if (!piece_starts(begin)) continue;
    std::size_t end = begin + 4;
    while (piece_starts(end - 3)) ++end;
    const std::string run = text.substr(begin, end - begin);
    const bool letters_and_digits = std::all_of(run.begin(), run.end(), is_word_byte);
    const bool inside_word = (begin > 0 && is_word_byte(text[begin - 1])) || (end < text.size() && is_word_byte(text[end]));
    if (!(run.size() <= 5 && letters_and_digits && inside_word)) return run;
    begin = end - 1;
  }
  return "";
}

// The text of every JSON string (keys and values) in `line`, unescaped.
std::vector<std::string> json_strings(const std::string& line) {
  std::vector<std::string> strings;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '"') continue;
    std::string text;
    for (++i; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] != '\\' || i + 1 >= line.size()) {
        text += line[i];
        continue;
      }
      const char escaped = line[++i];
      if (escaped == 'u' && i + 4 < line.size()) {
        text += static_cast<char>(std::stoi(line.substr(i + 1, 4), nullptr, 16)); // only \u00XX is written
        i += 4;
      } else {
        text += escaped == 'n' ? '\n' : escaped == 't' ? '\t' : escaped == 'r' ? '\r' : escaped;
      }
    }
    strings.push_back(text);
  }
  return strings;
}

// The first piece of the password that the log output `logged` shows, with its line.
std::string leak_in(const std::string& logged, bool json, const Sought& sought) {
  std::size_t begin = 0;
  for (std::size_t end; (end = logged.find('\n', begin)) != std::string::npos; begin = end + 1) {
    const std::string line = logged.substr(begin, end - begin);
    for (const auto& text : json ? json_strings(line) : std::vector<std::string>{line}) {
      if (const std::string piece = shown_piece(text, sought); !piece.empty()) return "\"" + piece + "\" in " + line;
    }
  }
  return "";
}

} // namespace

TEST_CASE("The leak check finds a password shown whole or in part, and allows what redact allows") {
  const Sought s3cr3t("s3cr3t/horse"), hunter("hunter2-x");
  CHECK(shown_piece("connecting to postgresql://u:s3cr3t/horse@db", s3cr3t) == "s3cr3t/horse");
  CHECK(shown_piece("port \"s3cr3t\" is not", s3cr3t) == "s3cr3t");
  CHECK(shown_piece("port \"****\" is not", s3cr3t).empty());
  CHECK(shown_piece("interrupted", hunter).empty());
  CHECK(shown_piece("hunter", hunter) == "hunter");
  CHECK(leak_in("{\"message\":\"a \\\"q\\\"uoted\"}\n", true, Sought("\"q\"uo")) == "\"\"q\"uo\" in {\"message\":\"a \\\"q\\\"uoted\"}");
}

TEST_CASE("No log line, text or JSON, shows a piece of a password from any connection setting, good or bad") {
  const ClosedPort closed;
  const auto passwords = generated_passwords();
  std::mt19937 random(9);
  std::uniform_int_distribution<std::size_t> bad_syntax(1, syntaxes().size() - 1);
  int settings = 0, refused = 0, lines = 0;
  for (const bool json : {false, true}) {
    setup_logging("info", json);
    CapturedStderr captured;
    for (const auto& password : passwords) {
      const Sought sought(password);
      // Each password with good syntax and two kinds of bad syntax, in every form.
      for (const std::size_t syntax : {std::size_t{0}, bad_syntax(random), bad_syntax(random)}) {
        const auto all = settings_holding(password, syntaxes()[syntax], closed.port());
        for (std::size_t index = 0; index < all.size(); ++index) {
          const std::string& setting = all[index];
          CAPTURE(setting);
          CAPTURE(password);
          forget_log_secrets();
          const bool accepted = log_what_a_run_would(setting);
          const std::string logged = captured.take();
          ++settings;
          refused += accepted ? 0 : 1;
          lines += static_cast<int>(std::count(logged.begin(), logged.end(), '\n'));
          if (syntax == 0 && always_valid_form(index)) CHECK(accepted);
          const std::string leak = leak_in(logged, json, sought);
          if (!leak.empty()) FAIL_CHECK("a piece of the password was logged: " << leak);
        }
      }
    }
  }
  setup_logging("info");
  forget_log_secrets();
  MESSAGE(settings << " settings (" << refused << " refused), " << lines << " log lines");
  CHECK(settings > 20000);
  CHECK(refused > settings / 3);
}
