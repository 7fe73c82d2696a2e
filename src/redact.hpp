#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace migrate_init {

// The mask that replaces a secret in anything printed.
inline constexpr std::string_view k_redacted = "****";

// A piece of a known secret this long (in bytes) or longer is hidden wherever it appears.
// Shorter secrets are not searched for: masking every "ab" would make messages unreadable,
// and the pattern rules of redact() still hide them where a connection string holds them.
inline constexpr std::size_t k_secret_piece_length = 4;

// A byte range [first, second) of a text.
using Span = std::pair<std::size_t, std::size_t>;

// A connection setting as migrate-init renders it from its own reading of it (the start
// line, the JSON "database" field): its password already replaced by k_redacted, and the
// parts that are not secret (user name, hosts, ports, database) as `plain` spans of `text`.
// `read`, when not empty, holds each plain part as libpq reads it (a conninfo value without
// its quotes and backslash escapes), for the check that it reveals no password.
struct Rendering {
  std::string text;
  std::vector<Span> plain;
  std::vector<std::string> read;
};

// The passwords to hide, ready to be searched for: every piece of k_secret_piece_length
// bytes of each of them, so that a fragment of a password is found wherever a message
// cut it (a host name libpq took from a misread URL, a value after a backslash escape).
class KnownSecrets {
public:
  void add(std::string_view secret);
  // Where `rendering.text` appears whole in a text, its plain spans are not searched for
  // pieces of a secret: the user `teama` of a password `teama-secret-1` is shown, and so
  // is the separator on either side of a span. Unless the plain spans, together, reveal a
  // secret (any secret known when the text is redacted, of any length): one of them holds
  // it whole, or they show more than half of its bytes (counted by pieces, separators
  // included; each span read as written, percent-decoded and as libpq reads it:
  // Rendering::read). Then every plain span holding a piece of a secret, or a whole one, is
  // masked whole, and the rest of the rendering is searched like any text.
  void add_rendering(Rendering rendering);
  void clear();

  // What to hide in `text`: each maximal run covered by pieces of a secret, widened to
  // whole UTF-8 characters; in order, not overlapping. A run of at most five ASCII letters
  // and digits inside a longer word ("nter" in "interrupted", for a password holding
  // "hunter") is left: see redact.cpp. Nor are the plain spans of a rendering (above).
  std::vector<Span> spans_in(std::string_view text) const;

  // Whether `parts` (a rendering's plain parts, each in every form it may be read in),
  // shown together, reveal a known secret: see add_rendering.
  bool reveal_secret(const std::vector<std::vector<std::string>>& parts) const;

private:
  // The plain spans of whole renderings in `text` that may be shown, and those to mask.
  void rendering_spans_in(std::string_view text, std::vector<Span>& plain, std::vector<Span>& to_mask) const;
  bool holds_secret(const std::vector<std::string>& forms) const;

  std::unordered_set<std::uint32_t> m_pieces;
  // Every secret added, whole, the short ones too (not searched for in free text).
  std::vector<std::string> m_whole;
  std::vector<Rendering> m_renderings;
};

// Hides credentials in free text: every piece of each known secret (above), the password
// in postgres://, postgresql:// and postgresql+driver:// URIs (user:PASSWORD@host), and
// `password=...` in conninfo strings (quoted and backslash-escaped values included) and
// URI query strings, and the values of password options on a command line
// (password_option_values). Pure.
std::string redact(std::string_view text, const KnownSecrets& known_secrets);
std::string redact(std::string_view text, const std::vector<std::string>& known_secrets = {});

// Whether a command-line word is an option whose value is a password: `--password`,
// `-password`, `--db-password` (any case; not psql's `--no-password`).
bool is_password_option(std::string_view word);

// Where the values of password options are in `text` (a migrator's command line, in shell
// or JSON array form, or a line it printed): the word after `--password ` or after
// `"--password", ` ("quoted" or 'quoted' values without their quotes). A next word that
// starts with "--" is taken for an option, not a value (`psql --password --host db`
// prompts); one that starts with a single '-' is a value (and psql's `-h` is masked).
// `--password=VALUE` is a password parameter, hidden by redact() as such.
std::vector<Span> password_option_values(std::string_view text);

// The password in a URI's userinfo, as [begin, end) offsets into `after_scheme` (the URI
// without its `scheme://`); nullopt when it has none. Read generously: the userinfo ends at
// the URI's last '@', as a password may hold a raw '@', '/', '?' or quote that libpq would
// misread (an '@' in the query string then hides more than the password: the safe way to
// be wrong). Empty passwords (user:@host) included.
std::optional<Span> uri_userinfo_password(std::string_view after_scheme);

// The passwords of the postgres:// and postgresql:// URIs in `text`, as written (still
// percent-encoded).
std::vector<std::string> uri_passwords(std::string_view text);

} // namespace migrate_init
