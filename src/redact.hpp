#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace migrate_init {

// The mask that replaces a secret in anything printed.
inline constexpr std::string_view k_redacted = "****";

// Hides credentials in free text: the password in postgres:// and postgresql:// URIs
// (user:PASSWORD@host), `password=...` in conninfo strings and URI query strings (quoted
// values included), and every occurrence of each known secret. Pure.
std::string redact(std::string_view text, const std::vector<std::string>& known_secrets = {});

// The passwords of the postgres:// and postgresql:// URIs in `text`, as written (still
// percent-encoded): libpq quotes a password it cannot decode verbatim, outside any URI.
std::vector<std::string> uri_passwords(std::string_view text);

} // namespace migrate_init
