#include "common.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

namespace reliability {

bool long_mode() {
  const char* mode = std::getenv("MIGRATE_INIT_RELIABILITY");
  return mode && std::string(mode) == "long";
}

int repetitions(int quick, int long_run) { return long_mode() ? long_run : quick; }

std::uint64_t seed() {
  static const std::uint64_t value = [] {
    std::uint64_t chosen = 0;
    if (const char* given = std::getenv("MIGRATE_INIT_RELIABILITY_SEED"); given && *given) {
      chosen = std::strtoull(given, nullptr, 10);
    } else {
      chosen = (static_cast<std::uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
    }
    report("mode " + std::string(long_mode() ? "long" : "quick") + ", seed " + std::to_string(chosen) +
           " (replay with MIGRATE_INIT_RELIABILITY_SEED=" + std::to_string(chosen) + ")");
    return chosen;
  }();
  return value;
}

std::mt19937_64 generator_for(const std::string& scenario) {
  std::seed_seq sequence{seed() & 0xffffffffu, seed() >> 32, std::hash<std::string>{}(scenario)};
  return std::mt19937_64(sequence);
}

void report(const std::string& line) {
  std::cout << "[reliability] " << line << std::endl; // flushed: figures survive a crash of the test
}

std::string checkable_file_name(int number) {
  char name[32];
  std::snprintf(name, sizeof name, "%03d_step_%d.sql", number, number);
  return name;
}

std::string checkable_migration(int number, bool no_transaction, const std::string& extra_sql) {
  const std::string table = "t_" + std::to_string(number);
  if (no_transaction) {
    return "-- migrate-init: no-transaction\n"
           "CREATE TABLE IF NOT EXISTS " + table + " (id int PRIMARY KEY);\n" + extra_sql +
           "INSERT INTO " + table + " VALUES (" + std::to_string(number) + ") ON CONFLICT DO NOTHING;\n";
  }
  return "CREATE TABLE " + table + " (id int PRIMARY KEY);\n" + extra_sql + "INSERT INTO " + table + " VALUES (" +
         std::to_string(number) + ");\n";
}

void write_checkable_set(const test::TempDir& dir, int count, int no_transaction_every) {
  for (int number = 1; number <= count; ++number) {
    const bool no_transaction = no_transaction_every > 0 && number % no_transaction_every == 0;
    dir.write(checkable_file_name(number), checkable_migration(number, no_transaction));
  }
}

std::string sleep_statement() {
  return "SELECT pg_sleep(coalesce((SELECT substring(setting from '^reliability\\.sleep=(.*)$')"
         " FROM pg_db_role_setting, unnest(setconfig) AS setting"
         " WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND setrole = 0"
         " AND setting LIKE 'reliability.sleep=%'), '0')::float8);\n";
}

void set_sleep_seconds(const test::PgServer& server, const std::string& database, int seconds) {
  server.query("postgres", "ALTER DATABASE " + database + " SET reliability.sleep = '" + std::to_string(seconds) + "'");
}

std::set<int> LedgerAndSchema::applied() const {
  std::set<int> versions;
  for (const auto& [version, state] : ledger) {
    if (state == "applied") versions.insert(version);
  }
  return versions;
}

std::set<int> LedgerAndSchema::unfinished() const {
  std::set<int> versions;
  for (const auto& [version, state] : ledger) {
    if (state != "applied") versions.insert(version);
  }
  return versions;
}

std::set<int> LedgerAndSchema::tables() const {
  std::set<int> numbers;
  for (const auto& [number, rows] : table_rows) numbers.insert(number);
  return numbers;
}

LedgerAndSchema inspect(const test::PgServer& server, const std::string& database) {
  LedgerAndSchema state;
  // One snapshot for both: the ledger and every t_N with its row count, in one statement.
  const auto rows = server.query(
      database,
      "SELECT 'table', substring(table_name from 3), "
      "       (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM public.%I', table_name), "
      "                                            false, true, '')))[1]::text"
      "  FROM information_schema.tables WHERE table_schema = 'public' AND table_name ~ '^t_[0-9]+$' "
      "UNION ALL "
      "SELECT 'ledger', version, state FROM "
      "  (SELECT * FROM xmltable('/table/row' PASSING query_to_xml("
      "     CASE WHEN to_regclass('public.schema_migrations') IS NULL THEN 'SELECT 1 WHERE false'"
      "          ELSE 'SELECT version, state FROM public.schema_migrations' END, false, false, '')"
      "     COLUMNS version text, state text)) AS ledger");
  for (const auto& row : rows) {
    if (row[0] == "table") state.table_rows[std::stoi(row[1])] = std::stoi(row[2]);
    if (row[0] == "ledger") state.ledger[std::stoi(row[1])] = row[2];
  }
  return state;
}

std::string disagreement(const LedgerAndSchema& state) {
  std::ostringstream problems;
  for (const auto& [version, status] : state.ledger) {
    const auto table = state.table_rows.find(version);
    if (table == state.table_rows.end()) {
      problems << "ledger row " << version << " (" << status << ") without table t_" << version << "; ";
    } else if (table->second != 1) {
      problems << "table t_" << version << " has " << table->second << " rows; ";
    }
  }
  for (const auto& [number, count] : state.table_rows) {
    if (!state.ledger.contains(number)) problems << "table t_" << number << " without a ledger row; ";
  }
  return problems.str();
}

std::string derived_lock_key(const test::PgServer& server, const std::string& database) {
  return server.scalar(database,
                       "SELECT ('x' || encode(substring(sha256('migrate-init'::bytea || '\\x00'::bytea || "
                       "convert_to(current_database(), 'UTF8') || '\\x00'::bytea || convert_to(current_schema(), "
                       "'UTF8') || '\\x00'::bytea || convert_to('schema_migrations', 'UTF8')) from 1 for 8), "
                       "'hex'))::bit(64)::bigint");
}

std::string migrate_init_backend(const test::PgServer& server, const std::string& database,
                                 const std::string& query_like) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    const auto rows = server.query(database, "SELECT pid FROM pg_stat_activity WHERE datname = '" + database +
                                                 "' AND application_name LIKE 'migrate-init@%' AND query LIKE '" +
                                                 query_like + "' ORDER BY backend_start DESC");
    if (rows.size() == 1) return rows[0][0];
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

std::vector<std::string> error_lines(const std::string& log) {
  std::vector<std::string> found;
  for (const auto& line : lines_of(log)) {
    if (contains(line, " migrate-init error: ") || contains(line, " migrate-init critical: ") ||
        contains(line, "\"level\":\"error\"") || contains(line, "\"level\":\"critical\"")) {
      found.push_back(line);
    }
  }
  return found;
}

std::vector<std::string> foreign_lines(const std::string& log) {
  static const std::regex text_line(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z migrate-init [a-z]+: .*$)");
  static const std::regex json_line(R"(^\{"time":".*\}$)");
  std::vector<std::string> found;
  for (const auto& line : lines_of(log)) {
    if (!std::regex_match(line, text_line) && !std::regex_match(line, json_line)) found.push_back(line);
  }
  return found;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

} // namespace reliability
