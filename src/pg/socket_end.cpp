#include "pg/socket_end.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>

namespace migrate_init::pg {
namespace {

using Address = std::array<unsigned char, 16>; // IPv6, an IPv4 address in its mapped form

Address mapped(const in_addr& v4) {
  Address address{};
  address[10] = address[11] = 0xff;
  std::memcpy(address.data() + 12, &v4, 4);
  return address;
}

std::optional<Address> parse_address(std::string_view text) {
  const std::string host(text); // inet_pton needs the terminating NUL
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return mapped(v4);
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return std::nullopt;
  Address address{};
  std::memcpy(address.data(), &v6, 16);
  return address;
}

std::optional<unsigned> parse_port(std::string_view text) {
  unsigned port = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() || port > 65535) return std::nullopt;
  return port;
}

} // namespace

bool same_socket_end(const sockaddr_storage& end, std::string_view host, std::string_view port) {
  const auto address = parse_address(host);
  const auto number = parse_port(port);
  if (!address || !number) return false;
  if (end.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(end);
    return mapped(v4.sin_addr) == *address && ntohs(v4.sin_port) == *number;
  }
  if (end.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(end);
    Address own{};
    std::memcpy(own.data(), &v6.sin6_addr, 16);
    return own == *address && ntohs(v6.sin6_port) == *number;
  }
  return false;
}

} // namespace migrate_init::pg
