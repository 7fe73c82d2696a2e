#include "pg/socket_end.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

using migrate_init::pg::same_socket_end;

namespace {

sockaddr_storage v4(const char* address, unsigned short port) {
  sockaddr_storage end{};
  auto& in = reinterpret_cast<sockaddr_in&>(end);
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  REQUIRE(inet_pton(AF_INET, address, &in.sin_addr) == 1);
  return end;
}

sockaddr_storage v6(const char* address, unsigned short port) {
  sockaddr_storage end{};
  auto& in = reinterpret_cast<sockaddr_in6&>(end);
  in.sin6_family = AF_INET6;
  in.sin6_port = htons(port);
  REQUIRE(inet_pton(AF_INET6, address, &in.sin6_addr) == 1);
  return end;
}

} // namespace

TEST_CASE("same_socket_end matches a socket's address and port as PostgreSQL prints them, and nothing else") {
  SUBCASE("IPv4") {
    CHECK(same_socket_end(v4("127.0.0.1", 54032), "127.0.0.1", "54032"));
    CHECK_FALSE(same_socket_end(v4("127.0.0.1", 54032), "127.0.0.1", "54033"));
    CHECK_FALSE(same_socket_end(v4("127.0.0.1", 54032), "127.0.0.2", "54032"));
    CHECK_FALSE(same_socket_end(v4("10.0.0.5", 5432), "10.0.0.6", "5432")); // a pooler's own address
  }
  SUBCASE("IPv6, and an IPv4 client as a dual-stack server sees it") {
    CHECK(same_socket_end(v6("::1", 40000), "::1", "40000"));
    CHECK(same_socket_end(v6("2001:db8::7", 40000), "2001:db8:0:0:0:0:0:7", "40000"));
    CHECK_FALSE(same_socket_end(v6("::1", 40000), "::2", "40000"));
    CHECK(same_socket_end(v4("192.0.2.9", 6000), "::ffff:192.0.2.9", "6000"));
    CHECK(same_socket_end(v6("::ffff:192.0.2.9", 6000), "192.0.2.9", "6000"));
    CHECK_FALSE(same_socket_end(v4("192.0.2.9", 6000), "::ffff:192.0.2.10", "6000"));
  }
  SUBCASE("no address: NULL (empty), a Unix socket, or a port that is not one") {
    CHECK_FALSE(same_socket_end(v4("127.0.0.1", 54032), "", ""));
    CHECK_FALSE(same_socket_end(v4("127.0.0.1", 54032), "127.0.0.1", ""));
    CHECK_FALSE(same_socket_end(v4("127.0.0.1", 54032), "127.0.0.1/32", "54032"));
    CHECK_FALSE(same_socket_end(v4("127.0.0.1", 54032), "127.0.0.1", "54032x"));
    CHECK_FALSE(same_socket_end(v4("127.0.0.1", 54032), "127.0.0.1", "-1"));
    sockaddr_storage unix_end{};
    unix_end.ss_family = AF_UNIX;
    std::strcpy(reinterpret_cast<sockaddr_un&>(unix_end).sun_path, "/run/postgresql/.s.PGSQL.5432");
    CHECK_FALSE(same_socket_end(unix_end, "127.0.0.1", "5432"));
  }
}
