#include "pg/connect.hpp"

#include "host_name.hpp"
#include "log.hpp"
#include "setting_values.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <thread>

namespace migrate_init::pg {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds k_first_retry_delay{250};
constexpr milliseconds k_max_retry_delay{2000};

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// libpq reads every keyword in order and keeps the last non-empty value, and the URL
// (dbname, expanded) comes last: anything the user's URL says wins over these defaults.
struct ConnectParams {
  std::vector<std::string> keywords, values;
  void add(const char* keyword, std::string value) {
    keywords.emplace_back(keyword);
    values.push_back(std::move(value));
  }
};

ConnectParams connect_params(const ConnectOptions& options, milliseconds remaining) {
  ConnectParams params;
  if (!std::getenv("PGAPPNAME")) params.add("application_name", options.application_name);
  params.add("client_encoding", "UTF8"); // error positions are counted in UTF-8 characters
  // Notice a vanished server within about 25 s instead of the kernel's two hours.
  params.add("keepalives", "1");
  params.add("keepalives_idle", "10");
  params.add("keepalives_interval", "5");
  params.add("keepalives_count", "3");
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(remaining).count();
  params.add("connect_timeout", std::to_string(std::clamp<long long>(seconds, 2, 10)));
  if (!options.database_url.empty()) params.add("dbname", options.database_url);
  return params;
}

PGconn* attempt(const ConnectOptions& options, milliseconds remaining) {
  const ConnectParams params = connect_params(options, remaining);
  std::vector<const char*> keywords, values;
  for (std::size_t i = 0; i < params.keywords.size(); ++i) {
    keywords.push_back(params.keywords[i].c_str());
    values.push_back(params.values[i].c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  return PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
}

} // namespace

void validate_database_url(const std::string& database_url, const std::string& source) {
  if (const char* password = std::getenv("PGPASSWORD")) add_log_secret(password);
  if (database_url.empty()) return;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(database_url.c_str(), &error);
  if (!options) {
    // libpq's message can quote part of the URL; the log sink redacts what it can.
    add_log_secret(database_url);
    const std::string reason = error ? one_line(error) : "out of memory";
    PQfreemem(error);
    throw UsageError(source + " is not a valid PostgreSQL URI or conninfo: " + reason);
  }
  for (PQconninfoOption* option = options; option->keyword; ++option) {
    if (option->val && std::string_view(option->keyword) == "password") add_log_secret(option->val);
  }
  PQconninfoFree(options);
}

ConnectFailure classify_connect_error(std::string_view message) {
  const std::string text = lowercase(message);
  // Waiting cannot fix these: say so at once instead of retrying for AUTO_MIGRATE_WAIT.
  static constexpr std::array k_permanent{
      "password authentication failed", "no password supplied",      "authentication failed",
      "does not exist",                 "no pg_hba.conf entry",      "invalid uri",
      "invalid connection option",      "missing \"=\"",            "unterminated quoted string",
      "invalid sslmode",                "is not permitted to log in", "permission denied",
      "server does not support ssl",    "unsupported frontend protocol", "invalid integer value",
      "invalid port number",            "certificate"};
  for (const char* needle : k_permanent) {
    if (text.find(needle) != std::string::npos) return ConnectFailure::permanent;
  }
  // Everything else (refused, DNS not ready, starting up, shutting down, in recovery, too
  // many clients, timeouts, resets) is what a database that is still coming up looks like.
  return ConnectFailure::transient;
}

Connection connect_with_wait(const ConnectOptions& options) {
  const auto started = Clock::now();
  const auto deadline = started + options.wait;
  milliseconds delay = k_first_retry_delay;
  for (int attempt_number = 1;; ++attempt_number) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    Connection connection(attempt(options, remaining));
    if (PQstatus(connection.get()) == CONNECTION_OK) {
      if (attempt_number > 1) {
        spdlog::info("database is up after {} attempts, {} ms", attempt_number,
                     std::chrono::duration_cast<milliseconds>(Clock::now() - started).count());
      }
      return connection;
    }
    const std::string reason = one_line(PQerrorMessage(connection.get()));
    if (classify_connect_error(reason) == ConnectFailure::permanent) {
      throw Error(ExitCode::database_unreachable,
                  "cannot connect to the database: " + reason + " (not retried: check " + options.source + ")");
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      throw Error(ExitCode::database_unreachable,
                  fmt::format("database not reachable after {} attempts in {} ms (AUTO_MIGRATE_WAIT is {:g} s): {}",
                              attempt_number,
                              std::chrono::duration_cast<milliseconds>(Clock::now() - started).count(),
                              options.wait.count() / 1000.0, reason));
    }
    const milliseconds sleep = std::min(delay, left);
    spdlog::info("waiting for the database (attempt {}, retrying in {} ms): {}", attempt_number, sleep.count(), reason);
    std::this_thread::sleep_for(sleep);
    delay = std::min(k_max_retry_delay, delay * 3 / 2);
  }
}

std::string default_application_name() { return "migrate-init@" + host_name(); }

} // namespace migrate_init::pg
