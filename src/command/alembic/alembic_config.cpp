#include "command/alembic/alembic_config.hpp"

#include "text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <sstream>

namespace migrate_init::alembic {

namespace fs = std::filesystem;

// ---- files ----

std::optional<std::string> read_text(const fs::path& path) {
  // open, fstat, read, close: a no-op start reads every revision file, and in these VMs
  // each system call costs more than the parsing (an ifstream added a stat and a second read).
  // O_NONBLOCK: a FIFO named x.py neither blocks the open nor is read (not S_ISREG).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> text;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
    // Up to the size fstat gave: a file rewritten while it is read is a race no reader
    // wins, and the next start reads it afresh.
    text.emplace(static_cast<std::size_t>(info.st_size), '\0');
    std::size_t filled = 0;
    while (filled < text->size()) {
      const ssize_t got = ::read(fd, text->data() + filled, text->size() - filled);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        text.reset();
        break;
      }
      if (got == 0) break;
      filled += static_cast<std::size_t>(got);
    }
    if (text) text->resize(filled);
  }
  ::close(fd);
  return text;
}

std::string shown(const fs::path& path) { return printable(path.string()); }

// ---- the INI and TOML readers ----

IniSection parse_ini_section(std::string_view text, std::string_view section) {
  IniSection wanted, defaults;
  IniSection* current = nullptr;
  std::string* value = nullptr;
  std::set<std::string> keys;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) {
      value = nullptr;
      continue;
    }
    if (line[first] == '#' || line[first] == ';') continue;
    if (first > 0 && value) {
      *value += "\n" + line.substr(first);
      continue;
    }
    if (line[first] == '[' && line.back() == ']') {
      const std::string name = line.substr(first + 1, line.size() - first - 2);
      current = name == section ? &wanted : (name == "DEFAULT" ? &defaults : nullptr);
      if (current) current->found = true;
      keys.clear();
      value = nullptr;
      continue;
    }
    if (!current) {
      value = nullptr;
      continue;
    }
    const std::size_t separator = line.find_first_of("=:");
    if (separator == std::string::npos) continue; // ConfigParser refuses it; nothing Alembic reads
    std::string key = line.substr(first, separator - first);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    for (char& c : key) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    std::string rest = line.substr(separator + 1);
    rest.erase(0, rest.find_first_not_of(" \t") == std::string::npos ? rest.size() : rest.find_first_not_of(" \t"));
    if (!keys.insert(key).second && current->problem.empty()) current->problem = "option " + key + " is set twice";
    value = &(current->values[key] = rest);
  }
  for (const auto& [key, fallback] : defaults.values) wanted.values.emplace(key, fallback);
  if (wanted.problem.empty()) wanted.problem = defaults.problem;
  return wanted;
}

namespace {

// One TOML value's text after `key =`, from `at` up to the end of the value (arrays may go
// on over lines); `at` moves past it.
std::string toml_value_text(std::string_view text, std::size_t& at) {
  std::string out;
  int depth = 0;
  char quote = 0;
  for (; at < text.size(); ++at) {
    const char c = text[at];
    if (quote) {
      if (c == '\\' && quote == '"' && at + 1 < text.size()) out += text[at++];
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      while (at < text.size() && text[at] != '\n') ++at;
      if (depth == 0) break;
      continue;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == '\n' && depth == 0) {
      break;
    }
    out += c;
  }
  return out;
}

// A TOML string, boolean or array of strings as IniSection keeps it; nullopt for anything
// else. `ok` is false for a string this does not read (escapes, multi-line strings).
std::optional<std::string> toml_scalar_or_list(std::string_view value, bool& ok) {
  ok = true;
  std::vector<std::string> items;
  std::size_t at = 0;
  auto skip = [&] { while (at < value.size() && std::string_view(" \t\r\n,").find(value[at]) != std::string_view::npos) ++at; };
  auto string_at = [&]() -> std::optional<std::string> {
    const char quote = value[at];
    const std::size_t end = value.find(quote, at + 1);
    if (end == std::string_view::npos || value.substr(at, 3) == std::string(3, quote)) return std::nullopt;
    std::string item(value.substr(at + 1, end - at - 1));
    if (quote == '"' && item.find('\\') != std::string::npos) return std::nullopt;
    at = end + 1;
    return item;
  };
  while (!value.empty() && std::string_view(" \t\r\n").find(value.back()) != std::string_view::npos) value.remove_suffix(1);
  skip();
  if (value.substr(at) == "true" || value.substr(at) == "false") return std::string(value.substr(at));
  const bool array = at < value.size() && value[at] == '[';
  if (array) ++at;
  for (skip(); at < value.size() && !(array && value[at] == ']'); skip()) {
    if (value[at] != '"' && value[at] != '\'') return std::nullopt; // a number, a table: not ours
    auto item = string_at();
    if (!item) return ok = false, std::nullopt;
    items.push_back(std::move(*item));
    if (!array) break;
  }
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : "\n") + item;
  return joined;
}

} // namespace

IniSection parse_pyproject_alembic(std::string_view text) {
  IniSection section;
  bool inside = false;
  for (std::size_t at = 0; at < text.size(); ++at) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') {
      at = end;
      continue;
    }
    line.remove_prefix(first);
    if (line[0] == '[') {
      const std::size_t close = line.find(']');
      inside = close != std::string_view::npos && line.substr(0, close + 1) == "[tool.alembic]";
      section.found = section.found || inside;
      at = end;
      continue;
    }
    const std::size_t equals = line.find('=');
    std::size_t value_at = at + first + (equals == std::string_view::npos ? line.size() : equals + 1);
    const std::string value = toml_value_text(text, value_at);
    at = value_at;
    if (!inside || equals == std::string_view::npos) continue;
    std::string key(line.substr(0, equals));
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    bool ok = true;
    if (auto read = toml_scalar_or_list(value, ok)) section.values[key] = *read;
    if (!ok && section.problem.empty()) section.problem = "pyproject.toml: " + key + " is not a string read here";
  }
  return section;
}

// ---- the project ----

namespace {

// ConfigParser's interpolation of a value: %(here)s, %(other option)s and %%.
std::optional<std::string> interpolate(const std::string& value, const IniSection& ini, const std::string& here,
                                       int depth = 0) {
  if (depth > 10) return std::nullopt;
  std::string out;
  for (std::size_t at = 0; at < value.size(); ++at) {
    if (value[at] != '%') {
      out += value[at];
      continue;
    }
    if (value.compare(at, 2, "%%") == 0) {
      out += '%';
      ++at;
      continue;
    }
    const std::size_t close = value.find(")s", at);
    if (value.compare(at, 2, "%(") != 0 || close == std::string::npos) return std::nullopt;
    const std::string name = value.substr(at + 2, close - at - 2);
    if (name == "here") {
      out += here;
    } else {
      const auto other = ini.values.find(name);
      if (other == ini.values.end()) return std::nullopt;
      auto expanded = interpolate(other->second, ini, here, depth + 1);
      if (!expanded) return std::nullopt;
      out += *expanded;
    }
    at = close + 1;
  }
  return out;
}

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);
}

// A location from the ini as Alembic resolves it: `package:path` is a package resource
// (not followed here); a relative path is relative to the directory Alembic runs in (not
// to the ini's: only %(here)s is that), which is migrate-init's own working directory, the
// one the migrator inherits, and the one `migrate-init check` runs in: read as it is.
std::optional<fs::path> location(const std::string& text, std::string& uncertain) {
  const fs::path path(text);
  if (!path.is_absolute() && text.find(':') != std::string::npos) {
    if (uncertain.empty()) uncertain = "the location " + text + " is a package resource, which is not read here";
    return std::nullopt;
  }
  return path;
}

std::vector<std::string> split_locations(const std::string& text, const IniSection& ini, std::string& uncertain) {
  std::string separator_name;
  for (const char* key : {"path_separator", "version_path_separator"}) {
    if (const auto it = ini.values.find(key); it != ini.values.end()) {
      separator_name = it->second;
      break;
    }
  }
  std::vector<std::string> out;
  auto add = [&](std::string item) {
    const std::size_t from = item.find_first_not_of(" \t\n");
    if (from == std::string::npos) return;
    item = item.substr(from, item.find_last_not_of(" \t\n") - from + 1);
    out.push_back(item);
  };
  if (separator_name.empty()) { // Alembic's legacy split: on commas and runs of spaces
    std::string item;
    for (char c : text) {
      if (c == ',' || c == ' ') {
        add(std::move(item));
        item.clear();
      } else {
        item += c;
      }
    }
    add(std::move(item));
    return out;
  }
  const std::map<std::string, char> separators{{"space", ' '}, {"newline", '\n'}, {"os", ':'}, {":", ':'}, {";", ';'}};
  const auto separator = separators.find(separator_name);
  if (separator == separators.end()) {
    uncertain = "path_separator = " + separator_name + " is not one Alembic knows";
    return out;
  }
  std::string item;
  for (char c : text + separator->second) {
    if (c == separator->second) {
      add(std::move(item));
      item.clear();
    } else {
      item += c;
    }
  }
  return out;
}

// Fills the project's version directories and options from an [alembic] section.
void apply_ini(Project& project, const IniSection& ini, const fs::path& ini_path) {
  const fs::path ini_dir = fs::absolute(ini_path).parent_path();
  std::string& uncertain = project.uncertain_reason;
  if (!ini.problem.empty() && uncertain.empty()) uncertain = ini.problem;
  auto option = [&](const char* key) -> std::optional<std::string> {
    const auto it = ini.values.find(key);
    if (it == ini.values.end()) return std::nullopt;
    auto value = interpolate(it->second, ini, ini_dir.string());
    if (!value && uncertain.empty()) uncertain = std::string(key) + " uses an interpolation not read here";
    return value ? value : std::optional<std::string>("");
  };
  project.recursive = option("recursive_version_locations") == "true";
  if (option("sourceless") == "true" && uncertain.empty()) {
    uncertain = "sourceless = true (compiled revision files are not read here)";
  }
  project.version_dirs.clear();
  if (const auto locations = option("version_locations"); locations && !locations->empty()) {
    for (const auto& text : split_locations(*locations, ini, uncertain)) {
      if (auto path = location(text, uncertain)) project.version_dirs.push_back(*path);
    }
  } else {
    project.version_dirs.push_back(project.script_dir / "versions");
  }
}

std::optional<IniSection> read_ini(const fs::path& ini_path) {
  std::error_code error;
  if (!fs::is_regular_file(ini_path, error)) return std::nullopt;
  const auto text = read_text(ini_path);
  if (!text) return std::nullopt;
  IniSection section = parse_ini_section(*text, "alembic");
  if (!section.found) return std::nullopt;
  return section;
}

// The [tool.alembic] options of the pyproject.toml beside the ini, %(here)s expanded to its
// directory (and % escaped again for the ini's interpolation).
std::optional<IniSection> read_pyproject(const fs::path& ini_path) {
  const fs::path toml = fs::absolute(ini_path).parent_path() / "pyproject.toml";
  std::error_code error;
  if (!fs::is_regular_file(toml, error)) return std::nullopt;
  const auto text = read_text(toml);
  if (!text) return std::nullopt;
  IniSection section = parse_pyproject_alembic(*text);
  if (!section.found) return std::nullopt;
  for (auto& [key, value] : section.values) {
    auto expanded = interpolate(value, IniSection{}, toml.parent_path().string());
    if (!expanded && section.problem.empty()) section.problem = "pyproject.toml: " + key + " uses an interpolation not read here";
    std::string escaped;
    for (char c : expanded.value_or("")) escaped += c == '%' ? std::string("%%") : std::string(1, c);
    value = escaped;
  }
  return section;
}

// The ini's [alembic] section with, for each option it lacks, pyproject.toml's: Alembic
// looks in the ini first. A version_locations list from the toml is one path a line.
std::optional<IniSection> read_alembic_section(const fs::path& ini_path) {
  auto ini = read_ini(ini_path);
  const auto toml = read_pyproject(ini_path);
  if (!toml) return ini;
  IniSection merged = ini.value_or(IniSection{true, {}, {}});
  if (merged.problem.empty()) merged.problem = toml->problem;
  const bool toml_locations = !merged.values.contains("version_locations") && toml->values.contains("version_locations");
  for (const auto& [key, value] : toml->values) merged.values.emplace(key, value);
  if (toml_locations) merged.values["path_separator"] = "newline";
  return merged;
}

// The script directory an ini's [alembic] section names; nullopt, with `uncertain` set,
// when it names none that can be read.
std::optional<fs::path> script_location(const IniSection& ini, const fs::path& ini_path, std::string& uncertain) {
  const fs::path ini_dir = fs::absolute(ini_path).parent_path();
  const auto value = ini.values.find("script_location");
  if (value == ini.values.end()) {
    uncertain = "no script_location in its [alembic] section";
    return std::nullopt;
  }
  const auto expanded = interpolate(value->second, ini, ini_dir.string());
  if (!expanded) {
    uncertain = "script_location uses an interpolation not read here";
    return std::nullopt;
  }
  return location(*expanded, uncertain);
}

} // namespace

std::optional<Project> find_project(const fs::path& migrations_dir, const fs::path& ini_path) {
  std::error_code error;
  const auto ini = read_alembic_section(ini_path);
  if (fs::is_regular_file(migrations_dir / "env.py", error) && fs::is_directory(migrations_dir / "versions", error)) {
    Project project{migrations_dir, {migrations_dir / "versions"}, false, std::nullopt, {}};
    // The ini the migrator reads: the cwd's when it points here, else Flask-Migrate's own.
    std::string ignored;
    const auto location = ini ? script_location(*ini, ini_path, ignored) : std::nullopt;
    if (location && same_directory(*location, migrations_dir)) {
      project.ini = ini_path;
      apply_ini(project, *ini, ini_path);
    } else if (const auto own = read_ini(migrations_dir / "alembic.ini")) {
      project.ini = migrations_dir / "alembic.ini";
      apply_ini(project, *own, *project.ini);
    }
    // `alembic upgrade head` would read the cwd's ini and its other directory.
    if (location && !same_directory(*location, migrations_dir) && project.uncertain_reason.empty()) {
      project.uncertain_reason = shown(ini_path) + " names script_location " + shown(*location) + ", not " +
                                 shown(migrations_dir) + ": which one the migrator reads is not known";
    }
    return project;
  }
  if (!ini) return std::nullopt;
  Project project;
  project.ini = ini_path;
  const auto dir = script_location(*ini, ini_path, project.uncertain_reason);
  if (!dir) return project;
  project.script_dir = *dir;
  apply_ini(project, *ini, ini_path);
  if (!fs::is_directory(*dir, error) && project.uncertain_reason.empty()) {
    project.uncertain_reason = "script_location " + shown(*dir) + " is not a directory";
  }
  return project;
}

} // namespace migrate_init::alembic
