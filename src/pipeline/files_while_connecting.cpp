#include "pipeline/files_while_connecting.hpp"

#include "process/signal_channel.hpp"

#include <spdlog/spdlog.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <future>
#include <optional>
#include <system_error>

namespace migrate_init {
namespace {

// An eventfd, closed on destruction; readable once the reading has failed.
class FailureFlag {
public:
  FailureFlag() : m_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~FailureFlag() {
    if (m_fd >= 0) ::close(m_fd);
  }
  FailureFlag(const FailureFlag&) = delete;
  FailureFlag& operator=(const FailureFlag&) = delete;

  int fd() const { return m_fd; }
  void raise() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(m_fd, &one, sizeof one); // cannot fail: the count is far from full
  }

private:
  int m_fd;
};

// Below this many files, checksumming them costs less than a thread does: about 13 us a
// file against 0.5-0.7 ms for starting the thread, and every malloc and shared_ptr count
// made atomic for the rest of the run (bench/static.sh (a), 1 file: 1.02-1.04x slower).
constexpr std::size_t k_files_worth_a_thread = 64;

FilesAndSession one_then_the_other(const Config& config, MigrationListing listing) {
  const std::size_t count = listing.files.size();
  MigrationSet files = checksum_migrations(std::move(listing));
  return {std::move(files), Session(config, count)};
}

} // namespace

FilesAndSession checksum_while_connecting(const Config& config, MigrationListing listing) {
  const std::size_t count = listing.files.size();
  if (count < k_files_worth_a_thread) return one_then_the_other(config, std::move(listing));
  const FailureFlag failed; // outlives `reading`, whose destructor waits for the thread
  if (failed.fd() < 0) return one_then_the_other(config, std::move(listing));
  std::future<MigrationSet> reading;
  try {
    // `listing` is moved from only on the thread: if none starts, it is still whole below.
    reading = std::async(std::launch::async, [&listing, &failed] {
      try {
        return checksum_migrations(std::move(listing));
      } catch (...) {
        failed.raise();
        throw;
      }
    });
  } catch (const std::system_error& e) {
    spdlog::debug("checksumming the migrations before connecting: no thread ({})", e.what());
    return one_then_the_other(config, std::move(listing));
  }
  // Called only once the flag is up: get() throws the file's error, ending the wait.
  const WaitBreaker breaker{failed.fd(), [&reading] { reading.get(); }};
  std::optional<Session> session;
  try {
    session.emplace(config, count, &breaker);
  } catch (const Interrupted&) {
    throw;
  } catch (...) {
    // The file's error wins over the connection's (the breaker may have taken it already).
    if (reading.valid()) reading.get();
    throw;
  }
  MigrationSet files = reading.get();
  return {std::move(files), std::move(*session)};
}

} // namespace migrate_init
