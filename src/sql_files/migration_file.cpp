#include "sql_files/migration_file.hpp"

#include "error.hpp"
#include "text.hpp"

#include <algorithm>
#include <cctype>

namespace migrate_init {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_expected_extra(std::string_view file_name) {
  const std::string lower = lowercase(file_name);
  return lower.rfind("readme", 0) == 0 || lower.front() == '.';
}

bool in_range(std::string_view text, std::size_t at, unsigned char low, unsigned char high) {
  if (at >= text.size()) return false;
  const auto byte = static_cast<unsigned char>(text[at]);
  return byte >= low && byte <= high;
}

// The length of the well-formed UTF-8 sequence at text[at] (RFC 3629, table 3-7 of the
// Unicode standard), or 0 when the bytes there are not one.
std::size_t sequence_length(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return 1;
  unsigned char second_low = 0x80, second_high = 0xBF;
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  else return 0; // a continuation byte, an overlong lead (C0, C1) or above U+10FFFF (F5-FF)
  if (lead == 0xE0) second_low = 0xA0;  // overlong
  if (lead == 0xED) second_high = 0x9F; // surrogates
  if (lead == 0xF0) second_low = 0x90;  // overlong
  if (lead == 0xF4) second_high = 0x8F; // above U+10FFFF
  if (!in_range(text, at + 1, second_low, second_high)) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!in_range(text, at + i, 0x80, 0xBF)) return 0;
  }
  return length;
}

bool is_control(std::string_view sequence) {
  const auto first = static_cast<unsigned char>(sequence[0]);
  if (sequence.size() == 1) return first < 0x20 || first == 0x7F;
  return sequence.size() == 2 && first == 0xC2 && static_cast<unsigned char>(sequence[1]) <= 0x9F; // C1
}

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr char k_hex[] = "0123456789abcdef";
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += "\\x";
    out += k_hex[byte >> 4];
    out += k_hex[byte & 0x0f];
  }
}

std::string quoted_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "\"" : ", \"") + printable(name) + "\"";
  return out;
}

} // namespace

std::optional<MigrationFileName> parse_migration_file_name(std::string_view file_name) {
  constexpr std::string_view k_suffix = ".sql";
  if (file_name.size() <= k_suffix.size() || file_name.substr(file_name.size() - k_suffix.size()) != k_suffix) {
    return std::nullopt;
  }
  const std::string_view stem = file_name.substr(0, file_name.size() - k_suffix.size());
  const std::size_t underscore = stem.find('_');
  if (underscore == std::string_view::npos) return std::nullopt;
  const std::string_view version = stem.substr(0, underscore);
  const std::string_view name = stem.substr(underscore + 1);
  if (!all_digits(version) || name.empty()) return std::nullopt;
  return MigrationFileName{std::string(version), std::string(name), std::string(file_name)};
}

std::string normalized_version(std::string_view digits) {
  const std::size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string("0") : std::string(digits.substr(first));
}

int compare_versions(std::string_view a, std::string_view b) {
  // normalized_version() without its copies: sorting a thousand files compares often.
  const auto significant = [](std::string_view digits) {
    const std::size_t first = digits.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view("0") : digits.substr(first);
  };
  const std::string_view x = significant(a);
  const std::string_view y = significant(b);
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  const int order = x.compare(y);
  return order < 0 ? -1 : (order == 0 ? 0 : 1);
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = sequence_length(text, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

std::string printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t valid = sequence_length(bytes, at);
    const std::string_view sequence = bytes.substr(at, valid == 0 ? 1 : valid);
    if (valid == 0 || is_control(sequence)) {
      append_escaped(out, sequence);
    } else {
      out += sequence;
    }
    at += sequence.size();
  }
  return out;
}

ClassifiedNames classify_file_names(const std::vector<std::string>& file_names) {
  ClassifiedNames result;
  std::vector<std::string> not_utf8;
  for (const auto& file_name : file_names) {
    if (auto parsed = parse_migration_file_name(file_name)) {
      // The name goes into the ledger and into JSON: found now, rather than when the
      // server refuses its ledger row after the files before it were applied.
      if (!is_valid_utf8(file_name)) not_utf8.push_back(file_name);
      result.migrations.push_back(std::move(*parsed));
    } else if (!file_name.empty() && is_expected_extra(file_name)) {
      result.expected_extras.push_back(file_name);
    } else {
      result.ignored.push_back(file_name);
    }
  }
  if (!not_utf8.empty()) {
    std::sort(not_utf8.begin(), not_utf8.end());
    throw Error(ExitCode::migration_failed,
                std::string(not_utf8.size() == 1 ? "a migration file name is" : "migration file names are") +
                    " not valid UTF-8: " + quoted_names(not_utf8) +
                    " (bytes that are not UTF-8 shown as \\xHH); rename the file: its name is recorded in the "
                    "ledger and printed in JSON, which take UTF-8 only");
  }
  // Ties broken by file name so the duplicate message is the same on every machine.
  std::sort(result.migrations.begin(), result.migrations.end(), [](const auto& a, const auto& b) {
    const int order = compare_versions(a.version, b.version);
    return order != 0 ? order < 0 : a.file_name < b.file_name;
  });
  for (std::size_t i = 1; i < result.migrations.size(); ++i) {
    const auto& previous = result.migrations[i - 1];
    const auto& current = result.migrations[i];
    if (compare_versions(previous.version, current.version) == 0) {
      throw Error(ExitCode::migration_failed, "two migrations have version " + normalized_version(current.version) +
                                                  ": " + printable(previous.file_name) + " and " + printable(current.file_name));
    }
  }
  std::sort(result.ignored.begin(), result.ignored.end());
  return result;
}

} // namespace migrate_init
