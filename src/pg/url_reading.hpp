#pragma once

#include "redact.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace migrate_init::pg {

// migrate-init's own reading of a connection setting (a URI or a conninfo string), made
// before libpq's: where its passwords may be, whatever libpq makes of it, and whether libpq
// would read it differently from what it most likely means.
struct UrlReading {
  // Every value that may be a password (the URI's userinfo, password= and sslpassword=
  // values), each as written and decoded, under libpq's reading and under a generous one
  // that takes as much as the password could mean: up to the URI's last '@'; in conninfo
  // and query strings, up to where a known option is next assigned (` sslmode=`,
  // `&sslmode=`) rather than the next space or '&'.
  std::vector<std::string> passwords;
  // Why the setting is refused before libpq sees it, never quoting it; "" if it is not.
  std::string problem;
  // The scheme as written when libpq would not take the setting for a URI ("mysql://",
  // "postgresql+psycopg2://", "POSTGRES://"); "" otherwise.
  std::string foreign_scheme;
};

// Reads `url`, given the option keywords libpq knows (libpq_keywords(); with none, any
// `keyword=` counts as an option). Pure.
UrlReading read_url(std::string_view url, const std::vector<std::string>& keywords = {});

// `url` as migrate-init shows it: each password replaced by "****" (the URI's userinfo
// password, up to its last '@'; password= and sslpassword= values, quotes included),
// everything else as written. Plain (shown even where it holds pieces of a password, as
// long as together they reveal none: KnownSecrets::add_rendering): a URI's user name, and
// its hosts, ports and database (up to '?', one part); a conninfo's user, host, hostaddr,
// port and dbname values, with their reading in `read`. Nothing is plain in a setting that
// may be read two ways, a URI with a '/' or '?' before its last '@', nor in a conninfo
// libpq would refuse (a word that is no `keyword=value`, an unterminated quote). Pure.
Rendering shown_url(std::string_view url);

// The URL libpq is given for an SQLAlchemy-style one: `postgresql+psycopg2://`,
// `postgresql+psycopg://`, `postgresql+asyncpg://` (any `postgresql+DRIVER://` or
// `postgres+DRIVER://`, DRIVER being letters, digits and '_') lose their `+DRIVER`; any
// other text is returned as it is. The migrator and the service still get the URL as
// written. Pure.
std::string libpq_url(std::string_view url);

// The connection option keywords of the libpq linked in ("host", "sslmode", ...).
std::vector<std::string> libpq_keywords();

// libpq's message (one line) for a connection string it could not parse, without the piece
// of the string it quotes: that piece is kept only when it is a plain keyword that no
// password holds ("invalid URI query parameter: \"foo\""), and is "****" otherwise. A
// message of a form not known here (another libpq version, a translation) is replaced as a
// whole. Pure.
std::string parse_error_without_url(std::string_view message, const std::vector<std::string>& passwords);

} // namespace migrate_init::pg
