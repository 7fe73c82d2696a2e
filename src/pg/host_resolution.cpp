#include "pg/host_resolution.hpp"

#include "process/signal_channel.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

namespace migrate_init::pg {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The whitespace-separated words of one line, without its comment (# or ;).
std::vector<std::string_view> words(std::string_view line) {
  const std::size_t comment = line.find_first_of("#;");
  if (comment != std::string_view::npos) line = line.substr(0, comment);
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const std::size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <class Each>
void for_each_line(std::string_view text, Each&& each) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    each(text.substr(begin, end - begin));
    begin = end + 1;
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int option_value(std::string_view option, std::string_view name, int fallback, int max) {
  if (option.substr(0, name.size()) != name) return fallback;
  try {
    return std::clamp(std::stoi(std::string(option.substr(name.size()))), 0, max);
  } catch (const std::exception&) {
    return fallback;
  }
}

// Skips a (possibly compressed) name at `at`; false if it runs off the message.
bool skip_name(const std::vector<std::uint8_t>& m, std::size_t& at) {
  while (at < m.size()) {
    const std::uint8_t length = m[at];
    if ((length & 0xC0) == 0xC0) {
      at += 2;
      return at <= m.size();
    }
    if (length & 0xC0) return false;
    at += 1 + length;
    if (length == 0) return at <= m.size();
  }
  return false;
}

std::uint16_t u16(const std::vector<std::uint8_t>& m, std::size_t at) {
  return static_cast<std::uint16_t>(m[at] << 8 | m[at + 1]);
}

// One query to one server over UDP: `answered` says whether the server replied at all
// (a reply without an address is an answer too: NXDOMAIN, no record of that type).
std::optional<std::string> ask(const std::string& server, const std::string& name, std::uint16_t type,
                               std::chrono::milliseconds timeout, bool& answered, const WaitBreaker* breaker) {
  answered = false;
  sockaddr_storage address{};
  socklen_t address_length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, server.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(53);
    address_length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, server.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(53);
    address_length = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  static std::mt19937 random(std::random_device{}());
  const auto id = static_cast<std::uint16_t>(random());
  const std::vector<std::uint8_t> query = dns_query(id, name, type);
  if (query.empty()) return std::nullopt;
  const int fd = socket(address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  // Closed however ask() ends, a stop signal's Interrupted included.
  const std::unique_ptr<const int, void (*)(const int*)> closing(&fd, [](const int* open) { close(*open); });
  std::optional<std::string> answer;
  // connect(): only the server's own replies reach this socket.
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), address_length) == 0 &&
      send(fd, query.data(), query.size(), 0) == static_cast<ssize_t>(query.size())) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::uint8_t> reply(1232);
    for (;;) {
      // With the stop signals: a server that never answers must not hold SIGTERM back for
      // its timeout (up to 30 s a server), which as PID 1 would cost the container a SIGKILL.
      if (!wait_for_fd(fd, POLLIN, deadline, "waiting for the database", breaker)) break;
      const ssize_t got = recv(fd, reply.data(), reply.size(), 0);
      if (got < 0) break;
      const std::vector<std::uint8_t> message(reply.begin(), reply.begin() + got);
      if (message.size() >= 4 && u16(message, 0) == id) { // ours: an answer, or a definite "none"
        answered = true;
        answer = dns_answer_address(message, id, type);
        break;
      }
    }
  }
  return answer;
}

} // namespace

bool resolves_host_names_itself() {
#ifdef MIGRATE_INIT_FULLY_STATIC
  return true;
#else
  return false;
#endif
}

bool is_numeric_address(std::string_view host) {
  const std::string text(host);
  in6_addr buffer{};
  return inet_pton(AF_INET, text.c_str(), &buffer) == 1 || inet_pton(AF_INET6, text.c_str(), &buffer) == 1;
}

std::optional<std::string> hosts_file_address(std::string_view hosts_text, std::string_view name) {
  const std::string wanted = lower(name);
  std::optional<std::string> found;
  for_each_line(hosts_text, [&](std::string_view line) {
    if (found) return;
    const auto fields = words(line);
    if (fields.size() < 2 || !is_numeric_address(fields[0])) return;
    for (std::size_t i = 1; i < fields.size(); ++i) {
      if (lower(fields[i]) == wanted) {
        found = std::string(fields[0]);
        return;
      }
    }
  });
  return found;
}

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf conf;
  for_each_line(text, [&](std::string_view line) {
    const auto fields = words(line);
    if (fields.empty()) return;
    if (fields[0] == "nameserver" && fields.size() >= 2 && is_numeric_address(fields[1])) {
      conf.nameservers.emplace_back(fields[1]);
    } else if (fields[0] == "search" || fields[0] == "domain") { // the last of them wins, as in glibc
      conf.search.clear();
      for (std::size_t i = 1; i < fields.size(); ++i) conf.search.emplace_back(fields[i]);
    } else if (fields[0] == "options") {
      for (std::size_t i = 1; i < fields.size(); ++i) {
        conf.ndots = option_value(fields[i], "ndots:", conf.ndots, 15);
        conf.timeout_seconds = option_value(fields[i], "timeout:", conf.timeout_seconds, 30);
      }
    }
  });
  if (conf.nameservers.empty()) conf.nameservers.emplace_back("127.0.0.1");
  conf.timeout_seconds = std::max(conf.timeout_seconds, 1);
  return conf;
}

std::vector<std::string> dns_candidates(std::string_view name, const ResolvConf& conf) {
  if (name.empty()) return {};
  if (name.back() == '.') return {std::string(name.substr(0, name.size() - 1))};
  std::vector<std::string> out;
  const auto dots = std::count(name.begin(), name.end(), '.');
  if (dots >= conf.ndots) out.emplace_back(name);
  for (const auto& domain : conf.search) {
    std::string_view suffix = domain;
    if (!suffix.empty() && suffix.back() == '.') suffix.remove_suffix(1);
    if (!suffix.empty()) out.push_back(std::string(name) + "." + std::string(suffix));
  }
  if (dots < conf.ndots) out.emplace_back(name);
  return out;
}

std::vector<std::uint8_t> dns_query(std::uint16_t id, std::string_view name, std::uint16_t type) {
  std::vector<std::uint8_t> m{static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xFF),
                              0x01, 0x00, // recursion desired
                              0, 1, 0, 0, 0, 0, 0, 0}; // one question
  if (name.empty() || name.size() > 253) return {};
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = std::min(name.find('.', begin), name.size());
    const std::size_t length = end - begin;
    if (length == 0 || length > 63) return {};
    m.push_back(static_cast<std::uint8_t>(length));
    m.insert(m.end(), name.begin() + static_cast<std::ptrdiff_t>(begin), name.begin() + static_cast<std::ptrdiff_t>(end));
    if (end == name.size()) break;
    begin = end + 1;
  }
  m.push_back(0);
  m.push_back(static_cast<std::uint8_t>(type >> 8));
  m.push_back(static_cast<std::uint8_t>(type & 0xFF));
  m.push_back(0);
  m.push_back(1); // class IN
  return m;
}

std::optional<std::string> dns_answer_address(const std::vector<std::uint8_t>& m, std::uint16_t id,
                                              std::uint16_t type) {
  if (m.size() < 12 || u16(m, 0) != id) return std::nullopt;
  const std::uint16_t flags = u16(m, 2);
  if (!(flags & 0x8000) || (flags & 0x000F) != 0) return std::nullopt; // not a response, or an error code
  const std::uint16_t questions = u16(m, 4), answers = u16(m, 6);
  std::size_t at = 12;
  for (std::uint16_t i = 0; i < questions; ++i) {
    if (!skip_name(m, at) || at + 4 > m.size()) return std::nullopt;
    at += 4;
  }
  for (std::uint16_t i = 0; i < answers; ++i) {
    if (!skip_name(m, at) || at + 10 > m.size()) return std::nullopt;
    const std::uint16_t record_type = u16(m, at), record_class = u16(m, at + 2), length = u16(m, at + 8);
    at += 10;
    if (at + length > m.size()) return std::nullopt;
    if (record_class == 1 && record_type == type &&
        ((type == k_dns_type_a && length == 4) || (type == k_dns_type_aaaa && length == 16))) {
      char text[INET6_ADDRSTRLEN] = {};
      if (!inet_ntop(type == k_dns_type_a ? AF_INET : AF_INET6, m.data() + at, text, sizeof text)) return std::nullopt;
      return std::string(text);
    }
    at += length;
  }
  return std::nullopt;
}

std::optional<std::string> resolve_host_name(std::string_view name, std::string& why, const std::string& hosts_path,
                                             const std::string& resolv_path, const WaitBreaker* breaker) {
  if (is_numeric_address(name)) return std::string(name);
  if (auto address = hosts_file_address(read_file(hosts_path), name)) return address;
  const std::string lowered = lower(name);
  if (lowered == "localhost" || lowered == "localhost.") return std::string("127.0.0.1");
  const ResolvConf conf = parse_resolv_conf(read_file(resolv_path));
  const auto timeout = std::chrono::milliseconds(1000 * conf.timeout_seconds);
  // One try per server: a server that does not answer is not asked again in this
  // resolution (the connection loop retries the whole attempt while AUTO_MIGRATE_WAIT lasts).
  std::vector<bool> silent(conf.nameservers.size(), false);
  for (const std::string& candidate : dns_candidates(name, conf)) {
    for (const std::uint16_t type : {k_dns_type_a, k_dns_type_aaaa}) {
      for (std::size_t i = 0; i < conf.nameservers.size(); ++i) {
        if (silent[i]) continue;
        bool answered = false;
        if (auto address = ask(conf.nameservers[i], candidate, type, timeout, answered, breaker)) return address;
        if (answered) break;
        silent[i] = true;
      }
    }
  }
  std::string servers;
  for (const auto& server : conf.nameservers) servers += (servers.empty() ? "" : ", ") + server;
  why = "not in " + hosts_path + ", and DNS (" + servers + ", from " + resolv_path + ") gave no address for it";
  return std::nullopt;
}

} // namespace migrate_init::pg
