#include "json.hpp"

#include <cstdio>
#include <stdexcept>

namespace migrate_init {

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += escaped;
      } else {
        out += c;
      }
    }
  }
  return out + "\"";
}

JsonObject& JsonObject::field(std::string_view key, const std::string& json) {
  if (!m_fields.empty()) m_fields += ",";
  m_fields += json_quote(key) + ":" + json;
  return *this;
}

JsonObject& JsonObject::add(std::string_view key, std::string_view value) { return field(key, json_quote(value)); }

JsonObject& JsonObject::add(std::string_view key, const std::optional<std::string>& value) {
  return field(key, value ? json_quote(*value) : "null");
}

JsonObject& JsonObject::add(std::string_view key, long long value) { return field(key, std::to_string(value)); }

JsonObject& JsonObject::add(std::string_view key, bool value) { return field(key, value ? "true" : "false"); }

JsonObject& JsonObject::add_raw(std::string_view key, const std::string& json) { return field(key, json); }

JsonObject& JsonObject::add_fields(const JsonObject& other) {
  if (!m_fields.empty() && !other.m_fields.empty()) m_fields += ",";
  m_fields += other.m_fields;
  return *this;
}

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

std::string json_string_array(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const auto& item : items) quoted.push_back(json_quote(item));
  return json_array(quoted);
}

namespace {

// A cursor over the text of one JSON array of strings.
class StringArrayReader {
public:
  explicit StringArrayReader(std::string_view text) : m_text(text) {}

  std::vector<std::string> read() {
    std::vector<std::string> items;
    skip_space();
    expect('[');
    skip_space();
    if (peek() == ']') {
      ++m_at;
    } else {
      for (;;) {
        skip_space();
        items.push_back(read_string());
        skip_space();
        if (peek() == ',') {
          ++m_at;
          continue;
        }
        expect(']');
        break;
      }
    }
    skip_space();
    if (m_at != m_text.size()) fail("text after the closing ']'");
    return items;
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument(what + " at character " + std::to_string(m_at + 1));
  }
  char peek() const { return m_at < m_text.size() ? m_text[m_at] : '\0'; }
  void skip_space() {
    while (m_at < m_text.size() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++m_at;
  }
  void expect(char c) {
    if (m_at >= m_text.size()) fail(std::string("expected '") + c + "' but the text ended");
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++m_at;
  }
  unsigned read_hex4() {
    if (m_at + 4 > m_text.size()) fail("a \\u escape needs four hex digits");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = m_text[m_at++];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
      else fail("a \\u escape needs four hex digits");
    }
    return value;
  }
  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }
  std::string read_string() {
    if (peek() != '"') fail("expected a string in double quotes");
    ++m_at;
    std::string out;
    for (;;) {
      if (m_at >= m_text.size()) fail("unterminated string");
      const char c = m_text[m_at++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("a control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (m_at >= m_text.size()) fail("unterminated string");
      const char escaped = m_text[m_at++];
      switch (escaped) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned code = read_hex4();
        if (code >= 0xD800 && code <= 0xDBFF) {
          if (m_at + 2 > m_text.size() || m_text[m_at] != '\\' || m_text[m_at + 1] != 'u') fail("a lone surrogate");
          m_at += 2;
          const unsigned low = read_hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("a lone surrogate");
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        } else if (code >= 0xDC00 && code <= 0xDFFF) {
          fail("a lone surrogate");
        }
        if (code == 0) fail("a NUL character (\\u0000) cannot be in a command");
        append_utf8(out, code);
        break;
      }
      default:
        fail(std::string("unknown escape \\") + escaped);
      }
    }
  }

  std::string_view m_text;
  std::size_t m_at = 0;
};

} // namespace

std::vector<std::string> parse_json_string_array(std::string_view text) { return StringArrayReader(text).read(); }

} // namespace migrate_init
