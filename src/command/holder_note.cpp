#include "command/holder_note.hpp"

#include "json.hpp"
#include "pipeline/checksum.hpp"

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

std::string files_holder_note(const RecordPlace& place, const std::string& command, const std::string& digest) {
  return json_string_array({"files", place.table_schema, place.target_schema, sha256_hex(command), digest});
}

bool note_records_files(const std::string& note, const RecordPlace& place, const std::string& command,
                        const std::string& digest) {
  const std::vector<std::string> fields = fields_of(note);
  return !place.table_schema.empty() && !place.target_schema.empty() && fields.size() == 5 && fields[0] == "files" &&
         fields[1] == place.table_schema && fields[2] == place.target_schema && fields[3] == sha256_hex(command) &&
         fields[4] == digest;
}

std::string failure_holder_note(const MigratorTarget& run, const HolderFailure& failure) {
  return json_string_array({"failed", run.target_schema, run.search_path, sha256_hex(run.command), run.files_digest,
                            failure.ending, failure.holder});
}

bool is_failure_note(const std::string& note) {
  const std::vector<std::string> fields = fields_of(note);
  return !fields.empty() && fields[0] == "failed";
}

std::optional<HolderFailure> failure_in_note(const std::string& note, const MigratorTarget& run) {
  const std::vector<std::string> fields = fields_of(note);
  if (run.target_schema.empty() || run.files_digest.empty() || fields.size() != 7 || fields[0] != "failed" ||
      fields[1] != run.target_schema || fields[2] != run.search_path || fields[3] != sha256_hex(run.command) ||
      fields[4] != run.files_digest) {
    return std::nullopt;
  }
  return HolderFailure{fields[5], fields[6]};
}

} // namespace migrate_init
