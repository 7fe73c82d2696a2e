#include "pg/connection.hpp"

#include <cstdlib>

namespace migrate_init::pg {
namespace {

std::string field(const PGresult* result, int code) {
  const char* value = result ? PQresultErrorField(result, code) : nullptr;
  return value ? value : "";
}

// Server texts can span lines (DETAIL of a deadlock, libpq's hints); logs want one line.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      out += ' ';
      while (i + 1 < text.size() && (text[i + 1] == '\t' || text[i + 1] == ' ')) ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string compose(const std::string& severity, const std::string& primary, const std::string& detail,
                    const std::string& hint) {
  std::string text = (severity.empty() ? "ERROR" : severity) + ": " + one_line(primary);
  if (!detail.empty()) text += "; DETAIL: " + one_line(detail);
  if (!hint.empty()) text += "; HINT: " + one_line(hint);
  return text;
}

// Turns a failed result into a DatabaseError; a lost connection has no SQLSTATE, only
// libpq's message.
[[noreturn]] void throw_failure(PGconn* connection, const PGresult* result) {
  std::string primary = field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (primary.empty()) primary = PQerrorMessage(connection);
  const std::string position = field(result, PG_DIAG_STATEMENT_POSITION);
  throw DatabaseError(field(result, PG_DIAG_SQLSTATE), field(result, PG_DIAG_SEVERITY_NONLOCALIZED), primary,
                      field(result, PG_DIAG_MESSAGE_DETAIL), field(result, PG_DIAG_MESSAGE_HINT),
                      position.empty() ? 0 : std::strtoul(position.c_str(), nullptr, 10));
}

Result checked(PGconn* connection, PGresult* raw) {
  Result result(raw);
  const auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
    throw_failure(connection, raw);
  }
  return result;
}

} // namespace

DatabaseError::DatabaseError(std::string sqlstate, std::string severity, std::string primary, std::string detail,
                             std::string hint, std::size_t position)
    : Error(ExitCode::migration_failed, compose(severity, primary, detail, hint)), m_sqlstate(std::move(sqlstate)),
      m_severity(std::move(severity)), m_primary(std::move(primary)), m_detail(std::move(detail)),
      m_hint(std::move(hint)), m_position(position) {}

Result Connection::exec(const std::string& sql) {
  return checked(m_connection.get(), PQexec(m_connection.get(), sql.c_str()));
}

Result Connection::exec_params(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  return checked(m_connection.get(), PQexecParams(m_connection.get(), sql.c_str(), static_cast<int>(values.size()),
                                                  nullptr, values.data(), nullptr, nullptr, 0));
}

bool Connection::in_transaction() const {
  const auto status = PQtransactionStatus(m_connection.get());
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

} // namespace migrate_init::pg
