#include "host_name.hpp"

#include <unistd.h>

#include <array>

namespace migrate_init {

std::string host_name() {
  std::array<char, 256> host{};
  return gethostname(host.data(), host.size() - 1) == 0 ? std::string(host.data()) : std::string("unknown-host");
}

} // namespace migrate_init
