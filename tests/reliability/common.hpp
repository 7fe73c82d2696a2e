#pragma once
// What every reliability scenario shares: the quick/long mode, the random seed, figures on
// stdout, migrations whose effects can be checked, and log inspection.
#include "binary.hpp"
#include "harness.hpp"
#include "pg_server.hpp"

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace reliability {

// MIGRATE_INIT_RELIABILITY=long runs every scenario many more times (by hand); anything
// else is the quick mode CI runs.
bool long_mode();
// `quick` repetitions in the quick mode, `long_run` in the long mode.
int repetitions(int quick, int long_run);

// The seed of every random choice (kill moments), printed once; MIGRATE_INIT_RELIABILITY_SEED
// replays a run.
std::uint64_t seed();
// A generator for one scenario, seeded from seed() and the scenario's name, so that one
// scenario's draws do not depend on which others ran before it.
std::mt19937_64 generator_for(const std::string& scenario);

// One line of figures on stdout: "[reliability] <line>".
void report(const std::string& line);

// Migration file number `number`, whose effect is checkable: it creates table t_<number>
// and inserts one row. No-transaction files are written so that a retry after a crash at
// any point converges (IF NOT EXISTS, ON CONFLICT): a crash between a statement and its
// progress update makes `repair --retry` run that statement again.
std::string checkable_migration(int number, bool no_transaction, const std::string& extra_sql = "");
std::string checkable_file_name(int number);
// Writes files 1..count into `dir`; `no_transaction_every` > 0 makes every such file a
// no-transaction one (1: all of them).
void write_checkable_set(const test::TempDir& dir, int count, int no_transaction_every = 0);

// A statement that sleeps for the seconds set with set_sleep_seconds() (the database setting
// reliability.sleep): a window for faults. It is read from the catalog when the statement
// runs, not from the session's settings, so that a test can shorten the sleep for sessions
// that are already connected.
std::string sleep_statement();
void set_sleep_seconds(const test::PgServer& server, const std::string& database, int seconds);

// What the ledger and the schema say about a checkable set.
struct LedgerAndSchema {
  std::map<int, std::string> ledger;  // version -> state (applied, running)
  std::map<int, int> table_rows;      // N of each table t_N -> its row count
  std::set<int> applied() const;      // versions in state applied
  std::set<int> unfinished() const;   // versions in state running
  std::set<int> tables() const;       // N of each table t_N
};
LedgerAndSchema inspect(const test::PgServer& server, const std::string& database);
// "" when the ledger and the schema agree for transactional files (each applied row has
// its table with exactly one row, and no table exists without its row); else what is wrong.
std::string disagreement(const LedgerAndSchema& state);

// The lock key migrate-init derives for the default ledger public.schema_migrations of
// `database`, computed independently in SQL (README: first 8 bytes of SHA-256 of
// "migrate-init\0" database "\0" schema "\0" table, big-endian, signed).
std::string derived_lock_key(const test::PgServer& server, const std::string& database);

// The backend pid of the one session of `database` whose application_name starts with
// "migrate-init@", waiting up to a few seconds for it to appear; "" if none.
std::string migrate_init_backend(const test::PgServer& server, const std::string& database,
                                 const std::string& query_like = "%");

// Lines of a log (text or JSON format) at error or critical level.
std::vector<std::string> error_lines(const std::string& log);
// Lines that are not log lines at all (neither "<timestamp> migrate-init <level>: ..." nor
// a JSON object): what a crash, a sanitizer or std::terminate would print.
std::vector<std::string> foreign_lines(const std::string& log);
std::string joined(const std::vector<std::string>& lines);

using test::contains;
using test::lines_of;

} // namespace reliability
