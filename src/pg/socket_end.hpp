#pragma once

#include <sys/socket.h>

#include <string_view>

namespace migrate_init::pg {

// Whether `end` (a socket address from getsockname or getpeername) is the address `host`
// and port `port` as PostgreSQL prints them (host(inet_client_addr()), inet_client_port()).
// IPv4 and IPv6 alike, an IPv4 address matching its IPv4-mapped IPv6 form (a server that
// listens on both sees an IPv4 client as ::ffff:a.b.c.d). Anything else, a Unix socket or
// text that is not an address, is no match.
bool same_socket_end(const sockaddr_storage& end, std::string_view host, std::string_view port);

} // namespace migrate_init::pg
