// load_migrations on real directories in /tmp (no database): where files may resolve to,
// what is kept of them, and a file that changes between the checksum and the script.
#include "sql_files/discovery.hpp"

#include "error.hpp"
#include "pipeline/checksum.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace migrate_init;
namespace fs = std::filesystem;

namespace {

// A scratch directory holding a migrations directory `m` and things around it.
struct Scratch {
  fs::path root = fs::temp_directory_path() / ("migrate-init-discovery-" + std::to_string(getpid()));
  fs::path dir = root / "m";
  Scratch() {
    fs::remove_all(root);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  void write(const fs::path& path, const std::string& contents) const {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << contents;
  }
};

// The message of the Error(migration_failed) that load_migrations(dir) throws.
std::string refusal(const fs::path& dir) {
  try {
    load_migrations(dir);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::migration_failed);
    return e.what();
  }
  FAIL("load_migrations accepted " << dir);
  return {};
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

} // namespace

TEST_CASE("is_inside compares whole path components") {
  CHECK(is_inside("/m", "/m/a.sql"));
  CHECK(is_inside("/m", "/m/sub/a.sql"));
  CHECK(is_inside("/", "/a.sql"));
  CHECK_FALSE(is_inside("/m", "/m"));
  CHECK_FALSE(is_inside("/m", "/m2/a.sql"));
  CHECK_FALSE(is_inside("/m", "/ma.sql"));
  CHECK_FALSE(is_inside("/m/sub", "/m/a.sql"));
  CHECK_FALSE(is_inside("/m", "/etc/shadow"));
}

TEST_CASE("load_migrations refuses a migration that resolves outside the directory, naming the file") {
  Scratch s;
  s.write(s.dir / "001_ok.sql", "SELECT 1;");
  s.write(s.root / "secret", "the secret");
  s.write(s.root / "other" / "x.sql", "SELECT 2;");
  fs::create_directories(s.dir / "sub");
  SUBCASE("an absolute link") { fs::create_symlink("/etc/hostname", s.dir / "002_x.sql"); }
  SUBCASE("a relative link with ..") { fs::create_symlink("../secret", s.dir / "002_x.sql"); }
  SUBCASE("a relative link into a sibling directory") { fs::create_symlink("../other/x.sql", s.dir / "002_x.sql"); }
  SUBCASE("a link that goes down, then out with ..") { fs::create_symlink("sub/../../secret", s.dir / "002_x.sql"); }
  SUBCASE("a chain of links, the last one leading out") {
    fs::create_symlink(s.root / "secret", s.dir / ".hop2");
    fs::create_symlink(".hop2", s.dir / ".hop1");
    fs::create_symlink(".hop1", s.dir / "002_x.sql");
  }
  SUBCASE("a link through a symlinked subdirectory that leads out") {
    fs::create_symlink(s.root / "other", s.dir / "linked");
    fs::create_symlink("linked/x.sql", s.dir / "002_x.sql");
  }
  SUBCASE("a link to an absolute path spelled through the directory, then out") {
    fs::create_symlink(s.dir / ".." / "secret", s.dir / "002_x.sql");
  }
  const std::string message = refusal(s.dir);
  CHECK(contains(message, "refusing migration " + (s.dir / "002_x.sql").string() + ": it is a symbolic link that resolves to "));
  CHECK(contains(message, ", outside the migrations directory " + fs::canonical(s.dir).string()));
  CHECK_FALSE(contains(message, "the secret"));
}

TEST_CASE("load_migrations follows links that stay inside the directory, and a linked directory itself") {
  Scratch s;
  s.write(s.dir / "shared" / "002.sql", "SELECT 2;");
  s.write(s.dir / "001_a.sql", "SELECT 1;");
  fs::create_symlink("shared/002.sql", s.dir / "002_b.sql");                 // relative, down
  fs::create_symlink(s.dir / "001_a.sql", s.dir / "003_c.sql");              // absolute, inside
  fs::create_symlink("shared/../001_a.sql", s.dir / "004_d.sql");            // .. that stays inside
  fs::create_symlink("002_b.sql", s.dir / "005_e.sql");                      // a chain
  // A Kubernetes ConfigMap volume: each file links through ..data to a timestamped directory.
  s.write(s.dir / "..2026_12_01_00_00_00.1" / "006_f.sql", "SELECT 6;");
  fs::create_symlink("..2026_12_01_00_00_00.1", s.dir / "..data");
  fs::create_symlink("..data/006_f.sql", s.dir / "006_f.sql");
  fs::create_symlink(s.dir, s.root / "via-link");

  for (const fs::path& dir : {s.dir, s.root / "via-link"}) {
    CAPTURE(dir);
    const MigrationSet set = load_migrations(dir);
    REQUIRE(set.migrations.size() == 6);
    CHECK(set.migrations[1].checksum == migration_checksum("SELECT 2;"));
    CHECK(set.migrations[5].script().up.sql == "SELECT 6;");
  }
}

TEST_CASE("load_migrations checksums the files without keeping them; a script reads its file again") {
  Scratch s;
  s.write(s.dir / "001_a.sql", "\xEF\xBB\xBF" "CREATE TABLE a (id int);\r\n");
  const MigrationSet set = load_migrations(s.dir);
  REQUIRE(set.migrations.size() == 1);
  const Migration& migration = set.migrations[0];
  CHECK(migration.checksum == migration_checksum("CREATE TABLE a (id int);\n"));

  SUBCASE("unchanged: the script is the file's, without its BOM") {
    CHECK(migration.script().up.sql == "CREATE TABLE a (id int);\r\n");
  }
  SUBCASE("re-saved with LF endings: the same checksum, so the same migration") {
    s.write(s.dir / "001_a.sql", "CREATE TABLE a (id int);\n");
    CHECK(migration.script().up.sql == "CREATE TABLE a (id int);\n");
  }
  SUBCASE("changed since it was checksummed: refused, naming both checksums") {
    s.write(s.dir / "001_a.sql", "DROP TABLE important;\n");
    try {
      (void)migration.script();
      FAIL("a changed file was parsed");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::migration_failed);
      CHECK(std::string(e.what()) == (s.dir / "001_a.sql").string() +
                                         " changed while migrate-init was running: its checksum was " +
                                         migration.checksum + " when the migrations were read, and is " +
                                         migration_checksum("DROP TABLE important;\n") +
                                         " now; not applying it (the next start reads it afresh)");
    }
  }
  SUBCASE("replaced by a link out of the directory since: refused") {
    fs::remove(s.dir / "001_a.sql");
    fs::create_symlink("/etc/hostname", s.dir / "001_a.sql");
    CHECK_THROWS_WITH_AS((void)migration.script(), doctest::Contains("it is a symbolic link that resolves to"), Error);
  }
  SUBCASE("removed since") {
    fs::remove(s.dir / "001_a.sql");
    CHECK_THROWS_WITH_AS((void)migration.script(), doctest::Contains(": No such file or directory"), Error);
  }
}

TEST_CASE("load_migrations checksums a big file a piece at a time, as a whole-string hash would") {
  Scratch s;
  std::string text = "\xEF\xBB\xBF";
  for (int i = 0; text.size() < 1'000'000; ++i) text += "INSERT INTO t VALUES (" + std::to_string(i) + ");\r\n";
  // A CR as the last byte of a 64 KiB read, its LF the first of the next.
  text.insert(65535, "\r\n");
  s.write(s.dir / "001_big.sql", text);
  const MigrationSet set = load_migrations(s.dir);
  CHECK(set.migrations.at(0).checksum == migration_checksum(text));
}

TEST_CASE("load_migrations shows the names it sets aside with bytes that are not UTF-8 escaped") {
  Scratch s;
  s.write(s.dir / "notes\xff.txt", "");
  s.write(s.dir / "001_a.sql", "SELECT 1;");
  CHECK(load_migrations(s.dir).ignored == std::vector<std::string>{"notes\xff.txt"});
  s.write(s.dir / "002_caf\xe9.sql", "SELECT 2;");
  CHECK(contains(refusal(s.dir), "\"002_caf\\xe9.sql\""));
}
