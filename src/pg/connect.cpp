#include "pg/connect.hpp"

#include "host_name.hpp"
#include "pg/host_resolution.hpp"
#include "log.hpp"
#include "pg/url_reading.hpp"
#include "process/signal_channel.hpp"
#include "redact.hpp"
#include "setting_values.hpp"
#include "text.hpp"

#include <poll.h>
#include <pwd.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <new>

namespace migrate_init::pg {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds k_first_retry_delay{250};
constexpr milliseconds k_max_retry_delay{2000};

// libpq reads every keyword in order and keeps the last non-empty value, and the URL
// (dbname, expanded) comes last: anything the user's URL says wins over these defaults.
struct ConnectParams {
  std::vector<std::string> keywords, values;
  void add(const char* keyword, std::string value) {
    keywords.emplace_back(keyword);
    values.push_back(std::move(value));
  }
};

// What the URL (or else the PG* variable) says for `keyword` ("" if neither).
std::string url_or_environment(const ConnectOptions& options, const char* keyword, const char* variable) {
  std::string value;
  if (!options.database_url.empty()) {
    PQconninfoOption* parsed = PQconninfoParse(libpq_url(options.database_url).c_str(), nullptr);
    for (PQconninfoOption* option = parsed; option && option->keyword; ++option) {
      if (option->val && keyword == std::string_view(option->keyword)) value = option->val;
    }
    PQconninfoFree(parsed);
  }
  if (value.empty()) {
    if (const char* from_environment = std::getenv(variable)) value = from_environment;
  }
  return value;
}

// The fully static build (host_resolution.hpp): the host names become addresses here, given
// to libpq as `hostaddr` with `host` kept for TLS and SCRAM. False, with `failure`
// set, when a host name cannot be resolved (retried: the name may not exist yet). Added
// before the URL, whose own values win (`host` is the URL's anyway; `hostaddr` is only
// added when neither the URL nor PGHOSTADDR gives one).
bool add_resolved_hosts(const ConnectOptions& options, ConnectParams& params, std::string& failure) {
  // libpq finds ~/.pgpass and ~/.postgresql/ from $HOME, and without HOME through
  // getpwuid(), NSS again: then they are named here, in "/" (the URL still wins).
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    if (!std::getenv("PGPASSFILE")) params.add("passfile", "/.pgpass");
    if (!std::getenv("PGSSLCERT")) params.add("sslcert", "/.postgresql/postgresql.crt");
    if (!std::getenv("PGSSLKEY")) params.add("sslkey", "/.postgresql/postgresql.key");
    if (!std::getenv("PGSSLROOTCERT")) params.add("sslrootcert", "/.postgresql/root.crt");
    if (!std::getenv("PGSSLCRL") && !std::getenv("PGSSLCRLDIR")) params.add("sslcrl", "/.postgresql/root.crl");
  }
  if (!url_or_environment(options, "hostaddr", "PGHOSTADDR").empty()) return true; // addresses given
  const std::string hosts = url_or_environment(options, "host", "PGHOST");
  if (hosts.empty()) return true; // the default socket directory: nothing to look up
  std::string why, failed;
  const auto resolve = [&](std::string_view name) {
    return resolve_host_name(name, why, "/etc/hosts", "/etc/resolv.conf", options.breaker);
  };
  const auto addresses = hostaddr_list(hosts, resolve, failed);
  if (!addresses) {
    failure = "could not translate host name \"" + failed + "\" to address: " + why;
    return false;
  }
  params.add("host", hosts);
  params.add("hostaddr", *addresses);
  return true;
}

// Without a user name in the URL or PGUSER, libpq takes the local user's name. The fully
// static build never looks it up (NSS again); the others check that there is one: an image
// without an /etc/passwd entry for its user ID would otherwise retry libpq's "could not look
// up local user ID" for all of AUTO_MIGRATE_WAIT. One line naming both places, exit 2.
void require_user_name(const ConnectOptions& options) {
  if (!url_or_environment(options, "user", "PGUSER").empty()) return;
  if (resolves_host_names_itself()) {
    throw UsageError(options.source + " names no user and PGUSER is not set: this static build of migrate-init "
                                      "does not look up the local user name (add user@ to the URL, or set PGUSER)");
  }
  if (getpwuid(geteuid())) return;
  throw UsageError(fmt::format("{} names no user and PGUSER is not set, and user ID {} has no name here (no /etc/passwd "
                               "entry): add user@ to the URL, or set PGUSER",
                               options.source, geteuid()));
}

// `failure` is set when a host name cannot be resolved (fully static build).
ConnectParams connect_params(const ConnectOptions& options, std::string& failure) {
  ConnectParams params;
  if (!std::getenv("PGAPPNAME")) params.add("application_name", options.application_name);
  params.add("client_encoding", "UTF8"); // error positions are counted in UTF-8 characters
  // Never migrate a read-only standby, whichever host of a multi-host URL answers first.
  if (!std::getenv("PGTARGETSESSIONATTRS")) params.add("target_session_attrs", "read-write");
  // Notice a vanished server within about 25 s instead of the kernel's two hours.
  params.add("keepalives", "1");
  params.add("keepalives_idle", "10");
  params.add("keepalives_interval", "5");
  params.add("keepalives_count", "3");
  if (!options.options.empty()) params.add("options", options.options);
  require_user_name(options);
  if (resolves_host_names_itself() && !add_resolved_hosts(options, params, failure)) return params;
  // SQLAlchemy's `postgresql+psycopg2://` works for migrate-init too: libpq gets it without the driver.
  if (!options.database_url.empty()) params.add("dbname", libpq_url(options.database_url));
  return params;
}

// Server NOTICEs and WARNINGs go through the log (redacted, JSON when asked), not
// straight to stderr as libpq's default does.
void log_server_notice(void*, const PGresult* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY);
  const char* primary = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
  log_event(spdlog::level::info, "db.notice",
            std::string("server ") + (severity ? severity : "NOTICE") + ": " + one_line(primary ? primary : ""),
            {{"severity", severity ? severity : "NOTICE"}});
}

// One connection attempt, driven with PQconnectPoll so that a stop signal can end it and
// a server that never answers costs at most the attempt's own timeout.
Connection attempt(const ConnectOptions& options, milliseconds remaining, std::string& failure) {
  const ConnectParams params = connect_params(options, failure);
  if (!failure.empty()) return Connection(nullptr);
  std::vector<const char*> keywords, values;
  for (std::size_t i = 0; i < params.keywords.size(); ++i) {
    keywords.push_back(params.keywords[i].c_str());
    values.push_back(params.values[i].c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  Connection connection(PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (!connection.get()) throw std::bad_alloc();
  // The password libpq uses for the host it tries, the password file's included (read by
  // PQconnectStartParams): hidden like the URL's from here on.
  const auto register_password = [&] {
    if (const char* used = PQpass(connection.get())) add_log_secret(used);
  };
  register_password();
  PQsetNoticeReceiver(connection.get(), log_server_notice, nullptr);

  const auto deadline = Clock::now() + std::clamp(remaining, milliseconds(2000), milliseconds(10000));
  auto status = PGRES_POLLING_WRITING;
  while (PQstatus(connection.get()) != CONNECTION_BAD && status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED) {
    const short events = status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!wait_for_fd(PQsocket(connection.get()), events, deadline, "waiting for the database", options.breaker)) {
      failure = "timeout expired";
      return connection;
    }
    status = PQconnectPoll(connection.get());
    register_password(); // a multi-host URL's next host may have another
  }
  if (PQstatus(connection.get()) != CONNECTION_OK) failure = one_line(PQerrorMessage(connection.get()));
  return connection;
}

} // namespace

std::string connection_option_problem(std::string_view keyword, std::string_view value) {
  if (keyword == "port") {
    // One port per host of a multi-host URL; an empty item means the default port.
    std::size_t begin = 0;
    for (;;) {
      const std::size_t end = std::min(value.find(',', begin), value.size());
      const std::string_view item = value.substr(begin, end - begin);
      int port = 0;
      const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), port);
      if (!item.empty() && (ec != std::errc() || ptr != item.data() + item.size() || port < 1 || port > 65535)) {
        return "port \"" + std::string(item) + "\" is not a port number (1 to 65535)";
      }
      if (end == value.size()) return "";
      begin = end + 1;
    }
  }
  if (keyword == "sslmode") {
    static constexpr std::array k_modes{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
    if (std::find(k_modes.begin(), k_modes.end(), value) == k_modes.end()) {
      return "sslmode \"" + std::string(value) +
             "\" is not an SSL mode (use disable, allow, prefer, require, verify-ca or verify-full)";
    }
  }
  return "";
}

void validate_database_url(const std::string& written_url, const std::string& source) {
  if (const char* password = std::getenv("PGPASSWORD")) add_log_secret(password);
  if (written_url.empty()) return;
  const std::string database_url = libpq_url(written_url);
  // Our own reading first: its passwords are hidden in every line from here on, whatever
  // libpq makes of the URL, and a URL that libpq would misread is refused.
  const UrlReading reading = read_url(database_url, libpq_keywords());
  for (const auto& password : reading.passwords) add_log_secret(password);
  if (!reading.problem.empty()) throw UsageError(source + ": " + reading.problem);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(database_url.c_str(), &error);
  if (!options) {
    // libpq's message quotes the URL, or the piece it could not read: never shown.
    const std::string reason = error ? parse_error_without_url(one_line(error), reading.passwords) : "out of memory";
    PQfreemem(error);
    const std::string hint = reading.foreign_scheme.empty()
                                 ? ""
                                 : " (a URL starts with postgresql:// or postgres://, not " + reading.foreign_scheme + ")";
    throw UsageError(source + " is not a valid PostgreSQL URI or conninfo: " + reason + hint);
  }
  std::string problem;
  for (PQconninfoOption* option = options; option->keyword; ++option) {
    if (!option->val) continue;
    const std::string_view keyword = option->keyword;
    if (keyword == "password" || keyword == "sslpassword") add_log_secret(option->val);
    if (problem.empty()) problem = connection_option_problem(keyword, option->val);
  }
  PQconninfoFree(options);
  if (!problem.empty()) throw UsageError(source + ": " + problem);
}

ConnectFailure classify_connect_error(std::string_view message) {
  const std::string text = lowercase(message);
  // What a database that is still coming up looks like. Checked first: these messages
  // quote host names, which could contain any of the words below.
  static constexpr std::array k_transient{
      "could not translate host name", "connection refused",         "the database system is starting up",
      "the database system is shutting down", "in recovery mode",   "not yet accepting connections",
      "too many clients",              "remaining connection slots", "timeout expired",
      "no route to host",              "network is unreachable",    "server closed the connection unexpectedly",
      "no such file or directory",     "connection reset"};
  for (const char* needle : k_transient) {
    if (text.find(needle) != std::string::npos) return ConnectFailure::transient;
  }
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
  // Anything else (resets, odd network states) is more likely passing than not.
  return ConnectFailure::transient;
}

Connection connect_with_wait(const ConnectOptions& options) {
  const auto started = Clock::now();
  const auto deadline = started + options.wait;
  milliseconds delay = k_first_retry_delay;
  for (int attempt_number = 1;; ++attempt_number) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    std::string reason;
    Connection connection = attempt(options, remaining, reason);
    if (reason.empty()) {
      if (attempt_number > 1) {
        const long long waited = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
        log_event(spdlog::level::info, "db.up", fmt::format("database is up after {}, {} ms", counted(attempt_number, "attempt", "attempts"), waited),
                  {{"attempts", static_cast<long long>(attempt_number)}, {"waited_ms", waited}});
      }
      return connection;
    }
    if (classify_connect_error(reason) == ConnectFailure::permanent) {
      throw Error(ExitCode::database_unreachable,
                  "cannot connect to the database: " + reason + " (not retried: check " + options.source + ")");
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      throw Error(ExitCode::database_unreachable,
                  fmt::format("database not reachable after {} in {} ms (AUTO_MIGRATE_WAIT is {:g} s): {}",
                              counted(attempt_number, "attempt", "attempts"),
                              std::chrono::duration_cast<milliseconds>(Clock::now() - started).count(),
                              options.wait.count() / 1000.0, reason));
    }
    const milliseconds sleep = std::min(delay, left);
    log_event(spdlog::level::info, "db.waiting",
              fmt::format("waiting for the database (attempt {}, retrying in {} ms): {}", attempt_number, sleep.count(),
                          reason),
              {{"attempt", static_cast<long long>(attempt_number)},
               {"retry_in_ms", static_cast<long long>(sleep.count())},
               {"reason", reason}});
    interruptible_sleep(sleep, "waiting for the database", options.breaker);
    delay = std::min(k_max_retry_delay, delay * 3 / 2);
  }
}

Connection connect_once(const ConnectOptions& options, std::string& failure) {
  failure.clear();
  return attempt(options, std::chrono::duration_cast<milliseconds>(options.wait), failure);
}

std::string default_application_name() { return "migrate-init@" + host_name(); }

} // namespace migrate_init::pg
