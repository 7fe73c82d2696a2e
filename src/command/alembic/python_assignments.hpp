#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Python source, tokenized just enough to read the module-level assignments of a few
// names with certainty: what an Alembic revision file says about itself, read without
// Python. Anything that could bind those names some other way makes the reading fail.
namespace migrate_init::alembic {

// A literal value as Alembic reads it through util.to_tuple: None, a string, or a tuple or
// list of strings.
struct LiteralValue {
  bool none = false;
  bool scalar = false;              // one string, not in a tuple
  std::vector<std::string> strings;
};

// One module-level `name = value` (or `name: annotation = value`).
struct Assignment {
  LiteralValue value;
  std::size_t line = 0; // the line the assignment starts on
};

// The module-level assignments of `names` in Python source `text` (a UTF-8 BOM allowed),
// by name; a name never assigned is absent. nullopt, with `uncertain_reason` set to
// "line N: why", when the text does not tokenize, or one of `names` is assigned anything
// but a literal, assigned twice, bound by a def or class, set in a module-level block or
// used in module code, or module code could bind it unseen (globals(), exec). A module-level
// `from x import *` may bind any of `names`: an assignment after it is certain (only a later
// star import could rebind it), one before it, or a name of `names` assigned nowhere when
// there is one, is not.
// Pure.
std::optional<std::map<std::string, Assignment>> read_module_assignments(std::string_view text,
                                                                        std::span<const std::string_view> names,
                                                                        std::string& uncertain_reason);

} // namespace migrate_init::alembic
