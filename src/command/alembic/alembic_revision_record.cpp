#include "command/alembic/alembic_revision_record.hpp"

#include "json.hpp"

namespace migrate_init {

LedgerName revision_record_table(const LedgerName& ledger) {
  return LedgerName{ledger.schema, "migrate_init_alembic_revisions"};
}

std::vector<alembic::RecordedRevision> read_recorded_revisions(pg::Connection& connection, const LedgerName& table,
                                                               const std::string& version_table) {
  // Asked first, so that a database no image recorded into logs no error on the server.
  if (connection.exec_params("SELECT to_regclass($1) IS NULL", {table.quoted()}).value(0, 0) == "t") return {};
  // The arrays as JSON: parse_json_string_array reads them back whatever the ids hold.
  const pg::Result result = connection.exec_params(
      "SELECT revision, array_to_json(down_revisions), array_to_json(depends_on) FROM " + table.quoted() +
          " WHERE version_table = $1",
      {version_table});
  std::vector<alembic::RecordedRevision> recorded;
  for (int row = 0; row < result.rows(); ++row) {
    recorded.push_back({result.value(row, 0), parse_json_string_array(result.value(row, 1)),
                        parse_json_string_array(result.value(row, 2))});
  }
  return recorded;
}

namespace {

// In the transaction of record_revisions(): the table (and a missing schema of a qualified
// ledger) ready. Tenants that share it hold different migration locks: a transaction lock
// lets one at a time create it.
void prepare_revision_table(pg::Connection& connection, const LedgerName& table) {
  connection.exec_params("SELECT pg_advisory_xact_lock(hashtext('migrate_init_alembic_revisions'), hashtext($1))",
                         {table.quoted()});
  const pg::Result state = connection.exec_params(
      "SELECT $2::text IS NULL OR to_regnamespace(quote_ident($2::text)) IS NOT NULL, to_regclass($1) IS NOT NULL",
      {table.quoted(), table.schema});
  // Asked first: CREATE ... IF NOT EXISTS needs the CREATE privilege even when it exists, and
  // would log a NOTICE on every migrator run.
  if (state.value(0, 0) == "f") connection.exec("CREATE SCHEMA " + connection.escape_identifier(*table.schema));
  if (state.value(0, 1) == "f") {
    connection.exec("CREATE TABLE " + table.quoted() +
                    " (version_table text NOT NULL, revision text NOT NULL, down_revisions text[] NOT NULL,"
                    " depends_on text[] NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),"
                    " PRIMARY KEY (version_table, revision))");
  }
}

} // namespace

void record_revisions(pg::Connection& connection, const LedgerName& table, const std::string& version_table,
                      const std::vector<alembic::RecordedRevision>& revisions) {
  // Every revision as one JSON object {"id": [[down...], [depends...]]}: one parameter, one statement.
  JsonObject edges;
  for (const auto& revision : revisions) {
    edges.add_raw(revision.id, "[" + json_string_array(revision.down_revisions) + "," +
                                   json_string_array(revision.depends_on) + "]");
  }
  pg::run_in_transaction(connection, [&] {
    prepare_revision_table(connection, table);
    connection.exec_params("INSERT INTO " + table.quoted() +
                               " (version_table, revision, down_revisions, depends_on)"
                               " SELECT $1, e.key, ARRAY(SELECT json_array_elements_text(e.value -> 0)),"
                               " ARRAY(SELECT json_array_elements_text(e.value -> 1)) FROM json_each($2::json) e"
                               " ON CONFLICT (version_table, revision) DO NOTHING",
                           {version_table, edges.str()});
  });
}

} // namespace migrate_init
