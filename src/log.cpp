#include "log.hpp"

#include "json.hpp"
#include "redact.hpp"
#include "text.hpp"

#include <spdlog/sinks/base_sink.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

namespace migrate_init {
namespace {

// The event being logged on this thread, picked up by the sink (spdlog calls the sink
// synchronously, on the caller's thread).
struct PendingEvent {
  std::string_view name = "log";
  const std::vector<LogField>* fields = nullptr;
};
thread_local PendingEvent t_event;

std::string utc_timestamp(spdlog::log_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  return buffer;
}

// Redacts each line before it reaches stderr: one choke point for secrets.
class RedactingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  void add_secret(const std::string& secret) {
    std::lock_guard<std::mutex> lock(mutex_);
    m_secrets.add(secret);
  }
  void add_rendering(Rendering rendering) {
    std::lock_guard<std::mutex> lock(mutex_);
    m_secrets.add_rendering(std::move(rendering));
  }
  void forget_secrets() {
    std::lock_guard<std::mutex> lock(mutex_);
    m_secrets.clear();
  }
  std::string redacted(std::string_view text) {
    std::lock_guard<std::mutex> lock(mutex_);
    return redact(text, m_secrets);
  }
  void set_json(bool json) {
    std::lock_guard<std::mutex> lock(mutex_);
    m_json = json;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (m_stderr_gone) return;
    const std::string line = m_json ? json_line(msg) : text_line(msg);
    // A reader that went away (a closed pipe, a logging sidecar that died) must never stop
    // migrating, stopping on a signal or releasing the lock: the line is dropped, and once
    // the stream is gone for good (EPIPE, EBADF, EIO, ...) nothing more is written, so no
    // more SIGPIPEs are raised either. A full non-blocking pipe loses only this line.
    if (std::fwrite(line.data(), 1, line.size(), stderr) != line.size()) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) m_stderr_gone = true;
      std::clearerr(stderr);
    }
  }
  void flush_() override {
    if (!m_stderr_gone) std::fflush(stderr);
  }

private:
  // Only the message is redacted and escaped: the rest of the line is ours, and a
  // password's digits could otherwise mask the time.
  std::string text_line(const spdlog::details::log_msg& msg) {
    const std::string message = text_log_message(std::string_view(msg.payload.data(), msg.payload.size()), m_secrets);
    spdlog::details::log_msg shown = msg;
    shown.payload = message;
    spdlog::memory_buf_t formatted;
    formatter_->format(shown, formatted);
    return std::string(formatted.data(), formatted.size());
  }

  std::string json_line(const spdlog::details::log_msg& msg) {
    JsonObject line;
    line.add("time", utc_timestamp(msg.time));
    line.add("level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                  spdlog::level::to_string_view(msg.level).size()));
    line.add("event", t_event.name);
    line.add("message", redact(std::string_view(msg.payload.data(), msg.payload.size()), m_secrets));
    if (t_event.fields) {
      for (const auto& field : *t_event.fields) {
        if (field.is_text) {
          line.add(field.key, redact(field.value, m_secrets));
        } else {
          line.add_raw(field.key, field.value);
        }
      }
    }
    return line.str() + "\n";
  }

  KnownSecrets m_secrets;
  bool m_json = false;
  bool m_stderr_gone = false;
};

std::shared_ptr<RedactingStderrSink>& sink() {
  static auto instance = std::make_shared<RedactingStderrSink>();
  return instance;
}

} // namespace

LogField::LogField(std::string key_, std::string_view text) : key(std::move(key_)), value(text), is_text(true) {}
LogField::LogField(std::string key_, long long number) : key(std::move(key_)), value(std::to_string(number)) {}
LogField::LogField(std::string key_, bool flag) : key(std::move(key_)), value(flag ? "true" : "false") {}

void setup_logging(const std::string& level, bool json) {
  auto logger = std::make_shared<spdlog::logger>("migrate-init", sink());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ migrate-init %l: %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace); // stderr is unbuffered in spirit: never lose a line
  sink()->set_json(json);
  spdlog::set_default_logger(logger);
}

void add_log_secret(const std::string& secret) {
  if (!secret.empty()) sink()->add_secret(secret);
}

void add_log_rendering(Rendering rendering) { sink()->add_rendering(std::move(rendering)); }

std::string redact_with_log_secrets(std::string_view text) { return sink()->redacted(text); }

void forget_log_secrets() { sink()->forget_secrets(); }

std::string text_log_message(std::string_view message, const KnownSecrets& secrets) {
  return escape_control_characters(redact(message, secrets));
}

void flush_logs() { spdlog::default_logger()->flush(); }

void log_event(spdlog::level::level_enum level, std::string_view event, const std::string& message,
               std::vector<LogField> fields) {
  t_event = PendingEvent{event, &fields};
  spdlog::log(level, "{}", message);
  t_event = PendingEvent{};
}

} // namespace migrate_init
