#pragma once

// Host-name resolution without glibc's NSS, for the fully static build (-static):
// there, getaddrinfo() on a name reads /etc/nsswitch.conf and may dlopen an NSS module
// installed in the image (libnss_myhostname, libnss_systemd, ...), which crashes a
// static program. So migrate-init finds the address itself and gives libpq `hostaddr`
// along with `host`: libpq then connects to the address without looking anything up,
// and still checks the server certificate (verify-full) and SCRAM channel binding
// against the name. The order is that of a default nsswitch.conf: numeric addresses as
// they are, /etc/hosts, `localhost`, then DNS from /etc/resolv.conf (A, then AAAA).
// One address per name: the first found.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {
struct WaitBreaker;
}

namespace migrate_init::pg {

// Whether migrate-init resolves host names itself (the fully static build) instead of
// letting libpq call getaddrinfo().
bool resolves_host_names_itself();

// A numeric IPv4 or IPv6 address (what libpq's hostaddr accepts). Pure.
bool is_numeric_address(std::string_view host);

// The first address /etc/hosts (its text) gives `name`, compared case-insensitively. Pure.
std::optional<std::string> hosts_file_address(std::string_view hosts_text, std::string_view name);

// What resolv.conf says, as far as a stub resolver needs it.
struct ResolvConf {
  std::vector<std::string> nameservers; // numeric addresses, in order
  std::vector<std::string> search;      // search domains, in order
  int ndots = 1;
  int timeout_seconds = 5;              // per query and server
};

// Reads resolv.conf's text (nameserver, search, domain, options ndots/timeout).
// No nameserver: 127.0.0.1, as glibc. Pure.
ResolvConf parse_resolv_conf(std::string_view text);

// The names to ask DNS for, in order, as glibc's resolver tries them: a name ending in
// '.' only as it is; a name with at least ndots dots first as it is, then with each
// search domain; otherwise with each search domain first. Pure.
std::vector<std::string> dns_candidates(std::string_view name, const ResolvConf& conf);

constexpr std::uint16_t k_dns_type_a = 1;
constexpr std::uint16_t k_dns_type_aaaa = 28;

// A DNS query message for `name` (recursion desired). Empty if the name cannot be
// encoded (a label over 63 bytes, an empty label). Pure.
std::vector<std::uint8_t> dns_query(std::uint16_t id, std::string_view name, std::uint16_t type);

// The first address of type `type` in a DNS response to query `id` (following the
// answer section's CNAMEs implicitly: any record of that type counts). Nullopt for a
// malformed or unrelated message, an error code, or no such record. Pure.
std::optional<std::string> dns_answer_address(const std::vector<std::uint8_t>& message, std::uint16_t id,
                                              std::uint16_t type);

// Resolves one host name as described above, reading /etc/hosts and /etc/resolv.conf
// (paths replaceable for tests). Nullopt: not found; `why` then says where it looked.
// `breaker` may end the wait for a DNS server by throwing (process/signal_channel.hpp).
std::optional<std::string> resolve_host_name(std::string_view name, std::string& why,
                                             const std::string& hosts_path = "/etc/hosts",
                                             const std::string& resolv_path = "/etc/resolv.conf",
                                             const WaitBreaker* breaker = nullptr);

// The `hostaddr` list for libpq's comma-separated `host` list: for each host, its address,
// or an empty item for a socket directory (starting with '/' or '@') or an empty item.
// `resolve` answers one name (nullopt: not found, and `failed` is set to that name). Pure
// but for `resolve`.
template <class Resolve>
std::optional<std::string> hostaddr_list(std::string_view hosts, Resolve&& resolve, std::string& failed) {
  std::string out;
  std::size_t begin = 0;
  for (bool first = true;; first = false) {
    const std::size_t end = std::min(hosts.find(',', begin), hosts.size());
    const std::string_view host = hosts.substr(begin, end - begin);
    if (!first) out += ',';
    if (!host.empty() && host.front() != '/' && host.front() != '@') {
      if (is_numeric_address(host)) {
        out += host;
      } else {
        const std::optional<std::string> address = resolve(host);
        if (!address) {
          failed = std::string(host);
          return std::nullopt;
        }
        out += *address;
      }
    }
    if (end == hosts.size()) return out;
    begin = end + 1;
  }
}

} // namespace migrate_init::pg
