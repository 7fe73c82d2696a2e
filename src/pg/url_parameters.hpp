#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace migrate_init::pg {

// Turns the value a connection setting gives `keyword` (empty when it gives none) into
// the value wanted.
using ParameterChange = std::function<std::string(const std::string& value)>;

// `url` (a postgresql:// URI, SQLAlchemy's postgresql+DRIVER:// included, or a conninfo
// string) with every value it gives `keyword` changed by `change`, the rest of the text as
// written: a URI's query parameter is percent-encoded again, a conninfo value quoted.
// When it gives none, `url` comes back unchanged, or with the parameter added at its end
// when `add_if_missing`. Pure.
std::string with_parameter(std::string_view url, std::string_view keyword, const ParameterChange& change,
                           bool add_if_missing = false);

// Whether `url` gives `keyword` a value. Pure.
bool sets_parameter(std::string_view url, std::string_view keyword);

} // namespace migrate_init::pg
