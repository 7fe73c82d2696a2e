// Crash anywhere: kill -9 at random moments of a run of 50 migrations, then recover.
#include "common.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <thread>

using namespace std::chrono_literals;
using namespace reliability;
using test::shared_server;

namespace {

constexpr int k_files = 50;

std::string padded_version(int number) {
  char version[16];
  std::snprintf(version, sizeof version, "%03d", number);
  return version;
}

long long ms(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
}

struct CrashFigures {
  int trials = 0;
  int killed = 0;              // the kill landed while migrate-init ran
  int finished_before_kill = 0;
  int refused_then_repaired = 0; // no-transaction: the next run said exit 5 + repair, repair completed it
  std::vector<int> applied_at_kill;
};

// One kind of file (transactional, or no-transaction), `trials` kills at uniformly random
// moments (drawn from the seed), each followed by the documented recovery.
void crash_anywhere(bool no_transaction) {
  const std::string kind = no_transaction ? "no-transaction" : "transactional";
  auto random = generator_for("crash " + kind);
  const int trials = repetitions(20, 200);
  test::TempDir migrations;
  write_checkable_set(migrations, k_files, no_transaction ? 1 : 0);
  const auto env_for = [&](const std::string& db) {
    return std::map<std::string, std::string>{{"DATABASE_URL", shared_server().url(db)},
                                              {"AUTO_MIGRATE_DIR", migrations.path().string()}};
  };

  // How long an undisturbed run takes, and how much of it is spent applying files (the
  // fastest of three runs: the first one runs cold). Half the kills are spread over the whole
  // run, from the start; the other half over the applying phase only, from the first
  // "applying" line: connecting and reading the ledger would otherwise take most of the kills.
  std::chrono::microseconds full_run = 1h, applying_phase = 1h;
  for (int calibration = 0; calibration < 3; ++calibration) {
    test::Running undisturbed(test::Invocation{{"migrate"}, env_for(shared_server().create_database())});
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(undisturbed.wait_for_log("applying " + checkable_file_name(1)));
    const auto applying_from = std::chrono::steady_clock::now();
    const auto outcome = undisturbed.wait(60s);
    REQUIRE(outcome.exit_code == 0);
    const auto ended = std::chrono::steady_clock::now();
    full_run = std::min(full_run, std::chrono::duration_cast<std::chrono::microseconds>(ended - started));
    applying_phase = std::min(applying_phase, std::chrono::duration_cast<std::chrono::microseconds>(ended - applying_from));
  }
  std::uniform_int_distribution<long long> kill_from_start_us(0, full_run.count() * 11 / 10);
  std::uniform_int_distribution<long long> kill_while_applying_us(0, applying_phase.count() * 11 / 10);
  CrashFigures figures;
  const auto started = std::chrono::steady_clock::now();
  for (int trial = 1; trial <= trials; ++trial) {
    const bool from_first_file = trial % 2 == 0;
    const long long delay_us = from_first_file ? kill_while_applying_us(random) : kill_from_start_us(random);
    CAPTURE(trial);
    CAPTURE(from_first_file);
    CAPTURE(delay_us);
    const std::string db = shared_server().create_database();
    const auto env = env_for(db);
    test::Running victim(test::Invocation{{"migrate"}, env});
    if (from_first_file) victim.wait_for_log("applying " + checkable_file_name(1), 10s);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    victim.signal(SIGKILL);
    const auto killed = victim.wait(60s);
    ++figures.trials;
    if (killed.exit_code == 128 + SIGKILL) {
      ++figures.killed;
    } else {
      ++figures.finished_before_kill;
      CHECK(killed.exit_code == 0);
    }

    // Right after the kill: transactional files are all or nothing, each with its row.
    const LedgerAndSchema after_kill = inspect(shared_server(), db);
    figures.applied_at_kill.push_back(static_cast<int>(after_kill.applied().size()));
    CAPTURE(after_kill.ledger.size());
    if (!no_transaction) {
      CHECK(after_kill.unfinished().empty());
      CHECK(disagreement(after_kill) == "");
    } else {
      // At most the file being run is unfinished; every applied file has its one row; no
      // table exists before its file's row says `running`.
      CHECK(after_kill.unfinished().size() <= 1);
      for (int version : after_kill.applied()) CHECK(after_kill.table_rows.at(version) == 1);
      for (int number : after_kill.tables()) CHECK(after_kill.ledger.contains(number));
    }

    auto next = test::run({{"migrate"}, env});
    if (no_transaction && !after_kill.unfinished().empty()) {
      // README: the next start stops with exit 5 and the repair command; `repair --retry`
      // resumes at the first statement not recorded as done.
      const std::string version = padded_version(*after_kill.unfinished().begin());
      CAPTURE(next.err);
      CHECK(next.exit_code == 5);
      CHECK(contains(next.err, "is unfinished"));
      CHECK(contains(next.err, "`migrate-init repair " + version + " --retry`"));
      const auto repaired = test::run({{"repair", version, "--retry"}, env});
      CAPTURE(repaired.err);
      CHECK(repaired.exit_code == 0);
      ++figures.refused_then_repaired;
      next = test::run({{"migrate"}, env});
    }
    CAPTURE(next.err);
    CHECK(next.exit_code == 0);
    CHECK(joined(error_lines(next.err)) == "");

    // In the end every file is applied exactly once, with its row.
    const LedgerAndSchema recovered = inspect(shared_server(), db);
    CHECK(recovered.applied().size() == static_cast<std::size_t>(k_files));
    CHECK(recovered.unfinished().empty());
    CHECK(recovered.tables().size() == static_cast<std::size_t>(k_files));
    CHECK(disagreement(recovered) == "");
  }

  auto sorted = figures.applied_at_kill;
  std::sort(sorted.begin(), sorted.end());
  report("crash " + kind + ": " + std::to_string(figures.trials) + " trials in " +
         std::to_string(ms(std::chrono::steady_clock::now() - started)) + " ms (an undisturbed run of " +
         std::to_string(k_files) + " files: " + std::to_string(full_run.count() / 1000) + " ms, " +
         std::to_string(applying_phase.count() / 1000) + " ms of it applying; half the kills within the whole run, "
         "half within the applying phase); " +
         std::to_string(figures.killed) + " killed mid-run, " + std::to_string(figures.finished_before_kill) +
         " finished first; files applied at the kill: min " + std::to_string(sorted.front()) + ", median " +
         std::to_string(sorted[sorted.size() / 2]) + ", max " + std::to_string(sorted.back()) +
         (no_transaction ? "; " + std::to_string(figures.refused_then_repaired) +
                               " left an unfinished file: exit 5, then repair --retry completed it"
                         : ""));
}

} // namespace

TEST_CASE("kill -9 at any moment of 50 transactional migrations leaves the ledger and the schema in agreement") {
  crash_anywhere(/*no_transaction=*/false);
}

TEST_CASE("kill -9 at any moment of 50 no-transaction migrations is refused with the repair command, which completes it") {
  crash_anywhere(/*no_transaction=*/true);
}
