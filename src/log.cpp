#include "log.hpp"

#include "redact.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <memory>
#include <mutex>
#include <vector>

namespace migrate_init {
namespace {

// Redacts each formatted line before it reaches stderr: one choke point for secrets.
class RedactingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  void add_secret(const std::string& secret) {
    std::lock_guard<std::mutex> lock(mutex_);
    m_secrets.push_back(secret);
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    const std::string line = redact(std::string_view(formatted.data(), formatted.size()), m_secrets);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

private:
  std::vector<std::string> m_secrets;
};

std::shared_ptr<RedactingStderrSink>& sink() {
  static auto instance = std::make_shared<RedactingStderrSink>();
  return instance;
}

} // namespace

void setup_logging(const std::string& level) {
  auto logger = std::make_shared<spdlog::logger>("migrate-init", sink());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ migrate-init %l: %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace); // stderr is unbuffered in spirit: never lose a line
  spdlog::set_default_logger(logger);
}

void add_log_secret(const std::string& secret) {
  if (!secret.empty()) sink()->add_secret(secret);
}

void flush_logs() { spdlog::default_logger()->flush(); }

} // namespace migrate_init
