#include "migrate/holder_note.hpp"

#include "json.hpp"
#include "migrate/checksum.hpp"

#include <stdexcept>

namespace migrate_init {
namespace {

// The note's strings; empty for a note that is not a JSON array of strings.
std::vector<std::string> fields_of(const std::string& note) {
  if (note.empty()) return {};
  try {
    return parse_json_string_array(note);
  } catch (const std::invalid_argument&) {
    return {}; // not ours, or a future kind of note: ask the database
  }
}

} // namespace

std::string alembic_holder_note(const std::string& schema, const std::string& version_table,
                                const std::vector<std::string>& rows) {
  std::vector<std::string> fields{"alembic", schema, version_table};
  fields.insert(fields.end(), rows.begin(), rows.end());
  return json_string_array(fields);
}

std::optional<std::vector<std::string>> alembic_rows_in_note(const std::string& note, const std::string& schema,
                                                             const std::string& version_table) {
  std::vector<std::string> fields = fields_of(note);
  if (schema.empty() || fields.size() < 3 || fields[0] != "alembic" || fields[1] != schema ||
      fields[2] != version_table) {
    return std::nullopt;
  }
  return std::vector<std::string>(fields.begin() + 3, fields.end());
}

std::string files_holder_note(const std::string& schema, const std::string& command, const std::string& digest) {
  return json_string_array({"files", schema, sha256_hex(command), digest});
}

bool note_records_files(const std::string& note, const std::string& schema, const std::string& command,
                        const std::string& digest) {
  const std::vector<std::string> fields = fields_of(note);
  return !schema.empty() && fields.size() == 4 && fields[0] == "files" && fields[1] == schema &&
         fields[2] == sha256_hex(command) && fields[3] == digest;
}

} // namespace migrate_init
