#include "pg/host_resolution.hpp"
#include "process/signal_channel.hpp"
#include "scratch_dir.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <thread>

using namespace migrate_init::pg;

TEST_CASE("is_numeric_address accepts IPv4 and IPv6 addresses, nothing else") {
  CHECK(is_numeric_address("127.0.0.1"));
  CHECK(is_numeric_address("10.1.2.3"));
  CHECK(is_numeric_address("::1"));
  CHECK(is_numeric_address("fd00::5"));
  CHECK_FALSE(is_numeric_address("localhost"));
  CHECK_FALSE(is_numeric_address("db"));
  CHECK_FALSE(is_numeric_address("10.1.2"));
  CHECK_FALSE(is_numeric_address(""));
  CHECK_FALSE(is_numeric_address("/var/run/postgresql"));
}

TEST_CASE("hosts_file_address finds the first line naming the host, aliases included, ignoring comments") {
  const std::string hosts = "# static table\n"
                            "127.0.0.1\tlocalhost\n"
                            "::1 localhost ip6-localhost\n"
                            "10.0.0.5   db.internal   DB  # the database\n"
                            "10.0.0.6 db\n"
                            "bogus notanaddress\n"
                            "#10.0.0.9 ghost\n";
  CHECK(hosts_file_address(hosts, "localhost") == "127.0.0.1");
  CHECK(hosts_file_address(hosts, "ip6-localhost") == "::1");
  CHECK(hosts_file_address(hosts, "db") == "10.0.0.5"); // alias, case-insensitive, first line wins
  CHECK(hosts_file_address(hosts, "db.internal") == "10.0.0.5");
  CHECK_FALSE(hosts_file_address(hosts, "ghost"));
  CHECK_FALSE(hosts_file_address(hosts, "notanaddress"));
  CHECK_FALSE(hosts_file_address(hosts, "the"));
  CHECK_FALSE(hosts_file_address("", "db"));
}

TEST_CASE("parse_resolv_conf reads nameservers, search domains and options as glibc does") {
  const ResolvConf conf = parse_resolv_conf("# Kubernetes\n"
                                            "domain example.org\n"
                                            "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                                            "nameserver 10.96.0.10\n"
                                            "nameserver fd00::10\n"
                                            "nameserver not-an-address\n"
                                            "options ndots:5 timeout:2 rotate\n");
  CHECK(conf.nameservers == std::vector<std::string>{"10.96.0.10", "fd00::10"});
  CHECK(conf.search == std::vector<std::string>{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"});
  CHECK(conf.ndots == 5);
  CHECK(conf.timeout_seconds == 2);

  const ResolvConf empty = parse_resolv_conf("");
  CHECK(empty.nameservers == std::vector<std::string>{"127.0.0.1"});
  CHECK(empty.search.empty());
  CHECK(empty.ndots == 1);
  CHECK(parse_resolv_conf("options timeout:0 ndots:x").timeout_seconds == 1);
  CHECK(parse_resolv_conf("options ndots:x").ndots == 1);
}

TEST_CASE("dns_candidates follows ndots and the search list") {
  ResolvConf conf;
  conf.search = {"default.svc.cluster.local", "cluster.local."};
  conf.ndots = 5;
  CHECK(dns_candidates("postgres", conf) ==
        std::vector<std::string>{"postgres.default.svc.cluster.local", "postgres.cluster.local", "postgres"});
  CHECK(dns_candidates("db.example.com.", conf) == std::vector<std::string>{"db.example.com"});
  conf.ndots = 1;
  CHECK(dns_candidates("db.example.com", conf) ==
        std::vector<std::string>{"db.example.com", "db.example.com.default.svc.cluster.local",
                                 "db.example.com.cluster.local"});
  CHECK(dns_candidates("db", ResolvConf{}) == std::vector<std::string>{"db"});
  CHECK(dns_candidates("", conf).empty());
}

TEST_CASE("dns_query encodes the name as labels, one question, recursion desired") {
  const auto query = dns_query(0xBEEF, "db.example", k_dns_type_a);
  const std::vector<std::uint8_t> expected{0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                           2,    'd',  'b',  7,    'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
                                           0,    1,    0,    1};
  CHECK(query == expected);
  CHECK(dns_query(1, "a..b", k_dns_type_a).empty());
  CHECK(dns_query(1, std::string(64, 'x'), k_dns_type_a).empty());
  CHECK(dns_query(1, "", k_dns_type_a).empty());
  CHECK(dns_query(1, "db", k_dns_type_aaaa).at(17) == 28);
}

namespace {

// A response to dns_query(id, "db.example", type) with the given flags and answers.
std::vector<std::uint8_t> response(std::uint16_t id, std::uint16_t flags, std::vector<std::vector<std::uint8_t>> answers,
                                   std::uint16_t type = k_dns_type_a) {
  auto m = dns_query(id, "db.example", type);
  m[2] = static_cast<std::uint8_t>(flags >> 8);
  m[3] = static_cast<std::uint8_t>(flags & 0xFF);
  m[7] = static_cast<std::uint8_t>(answers.size());
  for (const auto& answer : answers) m.insert(m.end(), answer.begin(), answer.end());
  return m;
}

// An answer record named by a pointer to the question's name (offset 12).
std::vector<std::uint8_t> record(std::uint16_t type, std::vector<std::uint8_t> data) {
  std::vector<std::uint8_t> r{0xC0, 12, static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type & 0xFF),
                              0,    1,  0, 0, 0, 60, 0, static_cast<std::uint8_t>(data.size())};
  for (const std::uint8_t byte : data) r.push_back(byte); // (insert(): a false -Warray-bounds in GCC 12)
  return r;
}

} // namespace

TEST_CASE("dns_answer_address reads the first address record, past CNAMEs, and refuses what is not an answer") {
  const auto cname = record(5, {3, 'w', 'w', 'w', 0xC0, 12});
  const auto a = record(k_dns_type_a, {10, 0, 0, 7});
  CHECK(dns_answer_address(response(7, 0x8180, {a}), 7, k_dns_type_a) == "10.0.0.7");
  CHECK(dns_answer_address(response(7, 0x8180, {cname, a}), 7, k_dns_type_a) == "10.0.0.7");
  const auto aaaa = record(k_dns_type_aaaa, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5});
  CHECK(dns_answer_address(response(7, 0x8180, {aaaa}, k_dns_type_aaaa), 7, k_dns_type_aaaa) == "fd00::5");
  CHECK_FALSE(dns_answer_address(response(7, 0x8180, {aaaa}, k_dns_type_aaaa), 7, k_dns_type_a));
  CHECK_FALSE(dns_answer_address(response(7, 0x8180, {a}), 8, k_dns_type_a));  // another query's id
  CHECK_FALSE(dns_answer_address(response(7, 0x8183, {}), 7, k_dns_type_a));    // NXDOMAIN
  CHECK_FALSE(dns_answer_address(response(7, 0x0100, {a}), 7, k_dns_type_a));  // a query, not a response
  CHECK_FALSE(dns_answer_address(response(7, 0x8180, {cname}), 7, k_dns_type_a));
  auto truncated = response(7, 0x8180, {a});
  truncated.resize(truncated.size() - 2);
  CHECK_FALSE(dns_answer_address(truncated, 7, k_dns_type_a));
  CHECK_FALSE(dns_answer_address({}, 7, k_dns_type_a));
  auto cut = response(7, 0x8180, {a});
  cut.resize(cut.size() - 15); // the answer ends inside its name pointer
  CHECK_FALSE(dns_answer_address(cut, 7, k_dns_type_a));
}

TEST_CASE("hostaddr_list gives one item per host: addresses, resolved names, empty for sockets") {
  std::string failed;
  auto resolve = [](std::string_view name) -> std::optional<std::string> {
    if (name == "db") return "10.0.0.5";
    return std::nullopt;
  };
  CHECK(hostaddr_list("db", resolve, failed) == "10.0.0.5");
  CHECK(hostaddr_list("127.0.0.1,db,/var/run/postgresql,,::1", resolve, failed) == "127.0.0.1,10.0.0.5,,,::1");
  CHECK(hostaddr_list("@abstract", resolve, failed) == "");
  CHECK_FALSE(hostaddr_list("db,replica", resolve, failed));
  CHECK(failed == "replica");
}

TEST_CASE("resolve_host_name: numeric as it is, then /etc/hosts, then localhost; says where it looked") {
  test::ScratchDir dir;
  dir.write("hosts", "10.9.8.7 db\n127.0.0.2 localhost\n");
  dir.write("resolv.conf", "nameserver 127.0.0.1\noptions timeout:1\n");
  const std::string hosts = (dir.path / "hosts").string(), resolv = (dir.path / "resolv.conf").string();
  std::string why;
  CHECK(resolve_host_name("192.0.2.1", why, hosts, resolv) == "192.0.2.1");
  CHECK(resolve_host_name("DB", why, hosts, resolv) == "10.9.8.7");
  CHECK(resolve_host_name("localhost", why, hosts, resolv) == "127.0.0.2"); // /etc/hosts first
  CHECK(resolve_host_name("localhost", why, (dir.path / "none").string(), resolv) == "127.0.0.1");
}

TEST_CASE("resolve_host_name's wait for a DNS server that never answers ends when the breaker fires") {
  const int flag = eventfd(0, EFD_CLOEXEC); // raised below, while the query waits
  REQUIRE(flag >= 0);
  // A silent server on port 53 of a loopback address (binding port 53 takes root).
  const int server = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(53);
  inet_pton(AF_INET, "127.83.1.1", &address.sin_addr);
  if (server < 0 || bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    MESSAGE("skipped: no silent DNS server on 127.83.1.1:53: " << std::strerror(errno));
    if (server >= 0) close(server);
    close(flag);
    return;
  }
  test::ScratchDir dir;
  dir.write("hosts", "");
  dir.write("resolv.conf", "nameserver 127.83.1.1\noptions timeout:5\n");
  const std::string hosts = (dir.path / "hosts").string(), resolv = (dir.path / "resolv.conf").string();
  const migrate_init::WaitBreaker breaker{flag, [] { throw std::runtime_error("the files failed"); }};
  // The other thread's work fails while the query is under way.
  std::thread failing([flag] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const std::uint64_t one = 1;
    CHECK(write(flag, &one, sizeof one) == static_cast<ssize_t>(sizeof one));
  });
  std::string why;
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(resolve_host_name("db.example", why, hosts, resolv, &breaker), "the files failed");
  const auto waited = std::chrono::steady_clock::now() - started;
  failing.join();
  CHECK(waited >= std::chrono::milliseconds(250)); // it was waiting for the server
  CHECK(waited < std::chrono::seconds(4));         // not for its 5 s timeout
  close(server);
  close(flag);
}
