// The Alembic revision graph read without Python: the forms Alembic's templates write,
// merges, branch labels and heads, every case that must stay uncertain, the project's
// location from alembic.ini, and (last) a project made by the real Alembic.
#include "command/alembic/alembic_graph.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

using namespace migrate_init;
using namespace migrate_init::alembic;
namespace fs = std::filesystem;

namespace {

Revision parsed(const std::string& text) {
  std::string why;
  const auto revision = parse_revision_source(text, why);
  INFO(why);
  REQUIRE(revision);
  CHECK(why.empty());
  return *revision;
}

std::string uncertain(const std::string& text) {
  std::string why;
  const auto revision = parse_revision_source(text, why);
  CHECK_FALSE(revision);
  CHECK_FALSE(why.empty());
  return why;
}

Revision rev(std::string id, std::vector<std::string> down, std::vector<std::string> labels = {},
             std::vector<std::string> depends = {}) {
  return Revision{std::move(id), std::move(down), std::move(labels), std::move(depends), fs::path("v") / "f.py", 1};
}

using Strings = std::vector<std::string>;

// A scratch directory, removed afterwards.
struct Scratch {
  fs::path root = fs::temp_directory_path() / ("migrate-init-alembic-" + std::to_string(getpid()));
  Scratch() {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  void write(const fs::path& relative, const std::string& text) const {
    fs::create_directories((root / relative).parent_path());
    std::ofstream(root / relative) << text;
  }
};

std::string revision_file(const std::string& id, const std::string& down) {
  return "revision = '" + id + "'\ndown_revision = " + down + "\n\ndef upgrade():\n    pass\n";
}

} // namespace

TEST_CASE("The pre-1.13 template's plain assignments are read") {
  const Revision r = parsed(R"("""add users

Revision ID: 1975ea83b712
Revises: 27c6a30d7c24
Create Date: 2011-11-08 11:40:27.089406

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '1975ea83b712'
down_revision = '27c6a30d7c24'
branch_labels = None
depends_on = None


def upgrade() -> None:
    revision = op.get_context()  # a local of upgrade(), not the module's
    op.create_table('account', sa.Column('id', sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table('account')
)");
  CHECK(r.id == "1975ea83b712");
  CHECK(r.down_revisions == Strings{"27c6a30d7c24"});
  CHECK(r.branch_labels.empty());
  CHECK(r.depends_on.empty());
  CHECK(r.line == 12);
}

TEST_CASE("The typed template's annotated assignments are read, merges included") {
  const Revision r = parsed(R"("""merge heads

Revision ID: c3
Revises: a1, b2
"""
from typing import Sequence, Union

revision: str = "c3"
down_revision: Union[str, Sequence[str], None] = ('a1', 'b2')
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
)");
  CHECK(r.id == "c3");
  CHECK(r.down_revisions == Strings{"a1", "b2"});
}

TEST_CASE("A base revision, branch labels and depends_on in their several forms are read") {
  SUBCASE("down_revision None is a base") { CHECK(parsed("revision = 'a'\ndown_revision = None\n").down_revisions.empty()); }
  SUBCASE("down_revision: Union[str, None] = None") {
    CHECK(parsed("revision: str = 'a'\ndown_revision: Union[str, None] = None\n").down_revisions.empty());
  }
  SUBCASE("a one-element tuple and a string label") {
    const Revision r = parsed("revision = 'a'\ndown_revision = None\nbranch_labels = ('feature',)\ndepends_on = 'x1'\n");
    CHECK(r.branch_labels == Strings{"feature"});
    CHECK(r.depends_on == Strings{"x1"});
  }
  SUBCASE("a list spread over lines, with a trailing comma and comments") {
    const Revision r = parsed("revision = 'm'\ndown_revision = [\n    'a',  # one\n    \"b\",\n]\n");
    CHECK(r.down_revisions == Strings{"a", "b"});
  }
  SUBCASE("a bare tuple and a backslash continuation") {
    CHECK(parsed("revision = 'm'\ndown_revision = 'a', \\\n  'b'\n").down_revisions == Strings{"a", "b"});
  }
  SUBCASE("a parenthesised string is one revision") {
    CHECK(parsed("revision = ('m')\ndown_revision = ('a')\n").down_revisions == Strings{"a"});
  }
  SUBCASE("a BOM, CRLF line ends and a module docstring in triple double quotes") {
    const Revision r = parsed("\xEF\xBB\xBF\"\"\"doc with 'revision = x'\r\n\"\"\"\r\nrevision = 'a'\r\ndown_revision = 'b'\r\n");
    CHECK(r.id == "a");
    CHECK(r.down_revisions == Strings{"b"});
  }
  SUBCASE("assignments inside functions, classes and decorated functions are not the module's") {
    const Revision r = parsed("revision = 'a'\ndown_revision = None\n@decorator\ndef f():\n    down_revision = 'x'\n"
                              "class C:\n    revision = 'y'\n");
    CHECK(r.id == "a");
  }
}

TEST_CASE("A revision file that cannot be read with certainty is never certain") {
  SUBCASE("an f-string id") { CHECK(uncertain("revision = f'{x}'\ndown_revision = None\n").find("line 1") == 0); }
  SUBCASE("an id computed by code") { uncertain("revision = make_id()\ndown_revision = None\n"); }
  SUBCASE("a concatenation") { uncertain("revision = 'a' + 'b'\ndown_revision = None\n"); }
  SUBCASE("no revision at all") { CHECK(uncertain("down_revision = None\n").find("no module-level revision") != std::string::npos); }
  SUBCASE("no down_revision") { uncertain("revision = 'a'\n"); }
  SUBCASE("an annotation without a value") { uncertain("revision: str\ndown_revision = None\n"); }
  SUBCASE("assigned twice") { CHECK(uncertain("revision = 'a'\ndown_revision = None\nrevision = 'b'\n").find("line 3") == 0); }
  SUBCASE("assigned under a module-level if") {
    uncertain("revision = 'a'\ndown_revision = None\nif X:\n    down_revision = 'b'\n");
  }
  SUBCASE("a tuple assignment") { uncertain("revision, down_revision = 'a', None\n"); }
  SUBCASE("a chained assignment") { uncertain("revision = x = 'a'\ndown_revision = None\n"); }
  SUBCASE("an augmented assignment") { uncertain("revision = 'a'\nrevision += 'b'\ndown_revision = None\n"); }
  SUBCASE("globals() at module level") { uncertain("revision = 'a'\ndown_revision = None\nglobals()['revision'] = 'b'\n"); }
  SUBCASE("a star import that may bind a name assigned nowhere") {
    CHECK(uncertain("from ids import *\nrevision = 'a'\ndown_revision = None\n") ==
          "line 1: import * may bind branch_labels, which is not assigned after it");
  }
  SUBCASE("a star import after an assignment, which it may rebind") {
    CHECK(uncertain("revision = 'a'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n"
                    "from sqlalchemy import *\n") == "line 5: import * after branch_labels (line 3), which it may rebind");
  }
  SUBCASE("an imported name") { uncertain("from ids import revision\ndown_revision = None\n"); }
  SUBCASE("an escape in the id") { uncertain("revision = 'a\\x41'\ndown_revision = None\n"); }
  SUBCASE("a bytes id") { uncertain("revision = b'a'\ndown_revision = None\n"); }
  SUBCASE("an id Alembic refuses") { uncertain("revision = 'a-b'\ndown_revision = None\n"); }
  SUBCASE("an empty id") { uncertain("revision = ''\ndown_revision = None\n"); }
  SUBCASE("a down_revision that is itself") { uncertain("revision = 'a'\ndown_revision = 'a'\n"); }
  SUBCASE("a tuple holding None") { uncertain("revision = 'a'\ndown_revision = (None,)\n"); }
  SUBCASE("a string that is never closed") { uncertain("revision = 'a'\ndown_revision = \"\"\"b\n"); }
  SUBCASE("a bracket that is never closed") { uncertain("revision = 'a'\ndown_revision = ('b',\n"); }
  SUBCASE("a function named revision") { uncertain("def revision():\n    pass\ndown_revision = None\n"); }
}

TEST_CASE("Assignments after a star import are read: only a later star import could rebind them") {
  const Revision r = parsed("from alembic import op\nfrom sqlalchemy import *\ntry:\n    from geoalchemy2 import *\n"
                            "except ImportError:\n    pass\n\n# revision identifiers, used by Alembic.\n"
                            "revision = '4b7e2c9a1d03'\ndown_revision = '1a2b3c4d5e6f'\nbranch_labels = None\n"
                            "depends_on = None\n\n\ndef upgrade():\n    from x import y\n    op.drop_table(Table('t'))\n");
  CHECK(r.id == "4b7e2c9a1d03");
  CHECK(r.down_revisions == Strings{"1a2b3c4d5e6f"});
  CHECK(r.line == 9);
}

TEST_CASE("Heads are the revisions no other names as down_revision, sorted") {
  SUBCASE("a line") {
    const Graph g = build_graph({rev("b", {"a"}), rev("a", {}), rev("c", {"b"})});
    CHECK(g.certain);
    CHECK(g.heads == Strings{"c"});
  }
  SUBCASE("two developers branched from one revision") {
    const Graph g = build_graph({rev("a", {}), rev("z2", {"a"}), rev("b1", {"a"})});
    CHECK(g.certain);
    CHECK(g.heads == Strings{"b1", "z2"});
  }
  SUBCASE("the merge makes one head again") {
    const Graph g = build_graph({rev("a", {}), rev("b1", {"a"}), rev("b2", {"a"}), rev("m", {"b1", "b2"})});
    CHECK(g.heads == Strings{"m"});
  }
  SUBCASE("depends_on does not make a revision a non-head") {
    const Graph g = build_graph({rev("a", {}, {"one"}), rev("x", {}, {"two"}), rev("y", {"x"}, {}, {"a"})});
    CHECK(g.certain);
    CHECK(g.heads == Strings{"a", "y"});
  }
  SUBCASE("depends_on may name a branch label") {
    CHECK(build_graph({rev("a", {}, {"one"}), rev("y", {}, {}, {"one"})}).certain);
  }
  SUBCASE("no revisions, no heads") { CHECK(build_graph({}).heads.empty()); }
}

TEST_CASE("A graph Alembic would refuse is uncertain") {
  SUBCASE("a dangling down_revision") {
    const Graph g = build_graph({rev("a", {}), rev("b", {"gone"})});
    CHECK_FALSE(g.certain);
    CHECK(g.uncertain_reason.find("gone") != std::string::npos);
  }
  SUBCASE("a duplicate id") { CHECK_FALSE(build_graph({rev("a", {}), rev("a", {})}).certain); }
  SUBCASE("a branch label used twice") { CHECK_FALSE(build_graph({rev("a", {}, {"l"}), rev("b", {"a"}, {"l"})}).certain); }
  SUBCASE("a depends_on naming nothing") { CHECK_FALSE(build_graph({rev("a", {}, {}, {"nothing"})}).certain); }
  SUBCASE("a cycle") { CHECK_FALSE(build_graph({rev("a", {"b"}), rev("b", {"a"}), rev("c", {})}).certain); }
  SUBCASE("a cycle behind a head") { CHECK_FALSE(build_graph({rev("x", {"a"}), rev("a", {"b"}), rev("b", {"a"})}).certain); }
}

TEST_CASE("A long history is read without deep recursion") {
  std::vector<Revision> chain{rev("r0", {})};
  for (int i = 1; i < 50000; ++i) chain.push_back(rev("r" + std::to_string(i), {"r" + std::to_string(i - 1)}));
  const Graph g = build_graph(std::move(chain));
  CHECK(g.certain);
  CHECK(g.heads == Strings{"r49999"});
}

TEST_CASE("The database is at heads only when a certain graph's heads are its rows") {
  const Graph one = build_graph({rev("a", {}), rev("b", {"a"})});
  CHECK(database_at_heads(one, {"b"}));
  CHECK_FALSE(database_at_heads(one, {"a"}));
  CHECK_FALSE(database_at_heads(one, {}));
  CHECK_FALSE(database_at_heads(one, {"b", "newer"}));
  CHECK_FALSE(database_at_heads(one, {"newer"}));
  const Graph two = build_graph({rev("a", {}), rev("b1", {"a"}), rev("b2", {"a"})});
  CHECK(database_at_heads(two, {"b2", "b1"}));
  CHECK_FALSE(database_at_heads(two, {"b1"}));
  CHECK(database_at_heads(build_graph({}), {}));
  Graph unsure = one;
  unsure.certain = false;
  CHECK_FALSE(database_at_heads(unsure, {"b"}));
}

TEST_CASE("An Alembic project is found from its directory or from alembic.ini") {
  Scratch scratch;
  const fs::path& root = scratch.root;
  SUBCASE("Flask-Migrate's migrations/ with its own alembic.ini") {
    scratch.write("migrations/env.py", "");
    scratch.write("migrations/versions/a.py", revision_file("a", "None"));
    scratch.write("migrations/alembic.ini", "[alembic]\n# template used to generate migration files\n");
    const auto project = find_project(root / "migrations", root / "missing.ini");
    REQUIRE(project);
    CHECK(project->uncertain_reason.empty());
    CHECK(project->version_dirs == std::vector<fs::path>{root / "migrations" / "versions"});
    CHECK(read_graph(*project).heads == Strings{"a"});
  }
  SUBCASE("script_location and version_locations with %(here)s and a separator") {
    scratch.write("alembic.ini", "[alembic]\nscript_location = %(here)s/db\npath_separator = os\n"
                                 "version_locations = %(here)s/db/v1:%(here)s/db/v2\nrecursive_version_locations = true\n");
    scratch.write("db/env.py", "");
    scratch.write("db/v1/a.py", revision_file("a", "None"));
    scratch.write("db/v2/deep/b.py", revision_file("b", "'a'"));
    scratch.write("db/v2/__pycache__/c.py", revision_file("c", "'b'"));
    scratch.write("db/v2/__init__.py", "");
    scratch.write("db/v2/.#b.py", "");
    scratch.write("db/v2/notes.txt", "");
    const auto project = find_project(root / "migrations", root / "alembic.ini");
    REQUIRE(project);
    CHECK(project->uncertain_reason.empty());
    CHECK(project->recursive);
    CHECK(project->version_dirs == std::vector<fs::path>{root / "db" / "v1", root / "db" / "v2"});
    const Graph graph = read_graph(*project);
    INFO(graph.uncertain_reason);
    CHECK(graph.certain);
    CHECK(graph.heads == Strings{"b"});
  }
  SUBCASE("without recursive_version_locations, subdirectories are not read") {
    scratch.write("alembic.ini", "[alembic]\nscript_location = " + (root / "db").string() + "\n");
    scratch.write("db/versions/a.py", revision_file("a", "None"));
    scratch.write("db/versions/sub/b.py", revision_file("b", "'a'"));
    const auto project = find_project(root / "migrations", root / "alembic.ini");
    REQUIRE(project);
    CHECK(read_graph(*project).heads == Strings{"a"});
  }
  SUBCASE("a file starting with _ is a revision file, as Alembic loads it") {
    scratch.write("alembic.ini", "[alembic]\nscript_location = " + (root / "db").string() + "\n");
    scratch.write("db/versions/a.py", revision_file("a", "None"));
    scratch.write("db/versions/_helpers.py", "def helper():\n    pass\n");
    const Graph graph = read_graph(*find_project(root / "migrations", root / "alembic.ini"));
    CHECK_FALSE(graph.certain);
    CHECK(graph.uncertain_reason.find("_helpers.py") != std::string::npos);
  }
  SUBCASE("a migrations directory and an alembic.ini naming another directory are not certain") {
    scratch.write("migrations/env.py", "");
    scratch.write("migrations/versions/a.py", revision_file("a", "None"));
    scratch.write("alembic.ini", "[alembic]\nscript_location = " + (root / "db").string() + "\n");
    scratch.write("db/versions/b.py", revision_file("b", "None"));
    const auto project = find_project(root / "migrations", root / "alembic.ini");
    REQUIRE(project);
    CHECK(project->uncertain_reason.find("which one the migrator reads is not known") != std::string::npos);
    CHECK_FALSE(read_graph(*project).certain);
  }
  SUBCASE("an alembic.ini naming the migrations directory gives its version_locations") {
    scratch.write("migrations/env.py", "");
    scratch.write("migrations/versions/a.py", revision_file("a", "None"));
    scratch.write("migrations/more/b.py", revision_file("b", "'a'"));
    scratch.write("alembic.ini", "[alembic]\nscript_location = %(here)s/migrations\n"
                                 "version_locations = %(here)s/migrations/versions %(here)s/migrations/more\n");
    const auto project = find_project(root / "migrations", root / "alembic.ini");
    REQUIRE(project);
    CHECK(project->uncertain_reason.empty());
    CHECK(read_graph(*project).heads == Strings{"b"});
  }
  SUBCASE("pyproject.toml's [tool.alembic] is read where the ini lacks an option (Alembic 1.16+)") {
    scratch.write("alembic.ini", "[alembic]\nsqlalchemy.url = x\n");
    scratch.write("pyproject.toml", "[project]\nname = \"app\"\n\n[tool.alembic]\n"
                                    "script_location = \"%(here)s/db\"  # the template's\n"
                                    "version_locations = [\n  \"%(here)s/db/a\",  # first\n  '%(here)s/db/b',\n]\n"
                                    "prepend_sys_path = [\".\"]\nrecursive_version_locations = true\n"
                                    "post_write_hooks = [{name = \"ruff\", type = \"exec\"}]\n[tool.other]\nscript_location = \"x\"\n");
    scratch.write("db/env.py", "");
    scratch.write("db/a/x.py", revision_file("x", "None"));
    scratch.write("db/b/deep/y.py", revision_file("y", "'x'"));
    const auto project = find_project(root / "migrations", root / "alembic.ini");
    REQUIRE(project);
    CHECK(project->uncertain_reason.empty());
    CHECK(project->script_dir == root / "db");
    CHECK(project->recursive);
    CHECK(project->version_dirs == std::vector<fs::path>{root / "db" / "a", root / "db" / "b"});
    CHECK(read_graph(*project).heads == Strings{"y"});
  }
  SUBCASE("pyproject.toml alone is an Alembic project, and the ini wins over it") {
    scratch.write("pyproject.toml", "[tool.alembic]\nscript_location = \"" + (root / "db").string() + "\"\n");
    scratch.write("db/versions/x.py", revision_file("x", "None"));
    auto project = find_project(root / "migrations", root / "alembic.ini");
    REQUIRE(project);
    CHECK(project->script_dir == root / "db");
    scratch.write("alembic.ini", "[alembic]\nscript_location = " + (root / "other").string() + "\n");
    project = find_project(root / "migrations", root / "alembic.ini");
    REQUIRE(project);
    CHECK(project->script_dir == root / "other");
  }
  SUBCASE("a package:path script_location is not certain") {
    scratch.write("alembic.ini", "[alembic]\nscript_location = myapp:migrations\n");
    const auto project = find_project(root / "migrations", root / "alembic.ini");
    REQUIRE(project);
    CHECK_FALSE(project->uncertain_reason.empty());
    CHECK_FALSE(read_graph(*project).certain);
  }
  SUBCASE("an ini without script_location is an Alembic project that is not certain") {
    scratch.write("alembic.ini", "[alembic]\nsqlalchemy.url = x\n");
    CHECK_FALSE(read_graph(*find_project(root / "migrations", root / "alembic.ini")).certain);
  }
  SUBCASE("sourceless = true is not certain") {
    scratch.write("alembic.ini", "[alembic]\nscript_location = " + (root / "db").string() + "\nsourceless = true\n");
    scratch.write("db/versions/a.py", revision_file("a", "None"));
    CHECK_FALSE(read_graph(*find_project(root / "migrations", root / "alembic.ini")).certain);
  }
  SUBCASE("a revision file's reason names its file and line") {
    scratch.write("migrations/env.py", "");
    scratch.write("migrations/versions/a.py", "revision = 'a'\ndown_revision = compute()\n");
    const Graph graph = read_graph(*find_project(root / "migrations", root / "alembic.ini"));
    CHECK_FALSE(graph.certain);
    CHECK(graph.uncertain_reason.find("a.py:2: down_revision") != std::string::npos);
  }
  SUBCASE("nothing found is not an Alembic project") {
    scratch.write("migrations/001_a.sql", "select 1;");
    CHECK_FALSE(find_project(root / "migrations", root / "alembic.ini"));
    scratch.write("alembic.ini", "[something_else]\n");
    CHECK_FALSE(find_project(root / "migrations", root / "alembic.ini"));
  }
}

// ---- against the real Alembic ----
// Needs Debian's python3-alembic (and python3-sqlalchemy) for /usr/bin/python3: called by
// that path, since the python3 on PATH may be another interpreter without Alembic.

namespace {

constexpr const char* k_alembic = "PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m alembic";

// A command's stdout (run by /bin/sh in `dir`); fails the test when it fails.
std::string shell(const fs::path& dir, const std::string& command) {
  const std::string full = "cd '" + dir.string() + "' && " + command + " 2>/dev/null";
  FILE* pipe = ::popen(full.c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  char buffer[4096];
  while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, got);
  const int status = ::pclose(pipe);
  INFO(command << "\n" << out);
  REQUIRE_MESSAGE(status == 0, "failed; is python3-alembic installed (scripts/install-deps.sh)?");
  return out;
}

// The first word of each line of `alembic heads`: "1975ea83b712 (head)".
Strings heads_printed(const std::string& out) {
  std::set<std::string> ids;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) ids.insert(line.substr(0, line.find(' ')));
  }
  return Strings(ids.begin(), ids.end());
}

// Runs a test in `dir` as the current directory: Alembic's relative script_location is
// relative to it.
struct InDirectory {
  fs::path old = fs::current_path();
  explicit InDirectory(const fs::path& dir) { fs::current_path(dir); }
  ~InDirectory() { fs::current_path(old); }
};

} // namespace

TEST_CASE("Heads match what the real Alembic prints, through a branch, its merge and a depends_on (needs python3-alembic)") {
  Scratch scratch;
  const fs::path& dir = scratch.root;
  const std::string alembic = k_alembic;
  shell(dir, alembic + " init alembic");
  shell(dir, "sed -i 's|^sqlalchemy.url = .*|sqlalchemy.url = sqlite:///%(here)s/db.sqlite|' alembic.ini");
  InDirectory here(dir);
  auto graph = [&] {
    const auto project = find_project(dir / "migrations", "alembic.ini");
    REQUIRE(project);
    const Graph read = read_graph(*project);
    INFO(read.uncertain_reason);
    CHECK(read.certain);
    return read;
  };
  auto check_heads = [&] {
    const Graph read = graph();
    CHECK(read.heads == heads_printed(shell(dir, alembic + " heads")));
    return read;
  };

  shell(dir, alembic + " revision -m a");
  const std::string a = heads_printed(shell(dir, alembic + " heads")).at(0);
  check_heads();
  shell(dir, alembic + " revision -m b1");
  shell(dir, alembic + " revision -m b2 --head " + a + " --splice");
  CHECK(check_heads().heads.size() == 2);

  shell(dir, alembic + " merge heads -m merge");
  const Graph merged = check_heads();
  REQUIRE(merged.heads.size() == 1);
  shell(dir, alembic + " upgrade head");
  const auto rows = [&] {
    return heads_printed(shell(dir, "/usr/bin/python3 -c \"import sqlite3; [print(r[0]) for r in "
                                    "sqlite3.connect('db.sqlite').execute('select version_num from alembic_version')]\""));
  };
  CHECK(rows() == merged.heads);
  CHECK(database_at_heads(merged, rows()));

  // A revision on its own branch that depends on the merge: Alembic prints both as heads,
  // and keeps only the dependent one in alembic_version after upgrade heads.
  shell(dir, alembic + " revision -m d --head " + a + " --splice --depends-on " + merged.heads[0]);
  const Graph depending = check_heads();
  CHECK(depending.heads.size() == 2);
  CHECK_FALSE(database_at_heads(depending, rows()));
  shell(dir, alembic + " upgrade heads");
  CHECK(rows().size() == 1);
  CHECK(rows() == depending.version_heads);
  CHECK(database_at_heads(depending, rows()));
}

TEST_CASE("The check fixtures' heads are the real Alembic's (needs python3-alembic)") {
  const fs::path fixtures = fs::path(MIGRATE_INIT_SOURCE_DIR) / "tests" / "fixtures" / "alembic_check";
  Scratch scratch;
  for (const char* name : {"two_heads", "merged", "star_import"}) {
    CAPTURE(name);
    const fs::path ini = scratch.root / (std::string(name) + ".ini");
    std::ofstream(ini) << "[alembic]\nscript_location = " << (fixtures / name).string() << "\n";
    const auto project = find_project(fixtures / name, ini);
    REQUIRE(project);
    CHECK(read_graph(*project).heads == heads_printed(shell(scratch.root, std::string(k_alembic) + " -c " + ini.string() + " heads")));
  }
}

TEST_CASE("A relative script_location is relative to the working directory, as Alembic reads it (needs python3-alembic)") {
  // conf/alembic.ini says `script_location = h/migrations`; Alembic is run from the root as
  // `alembic -c conf/alembic.ini`, and from conf/ it fails (conf/h/migrations does not exist).
  const fs::path root = fs::path(MIGRATE_INIT_SOURCE_DIR) / "tests" / "fixtures" / "alembic_check" / "cwd_relative";
  InDirectory here(root);
  const auto project = find_project(root / "migrations", "conf/alembic.ini");
  REQUIRE(project);
  CHECK(project->uncertain_reason.empty());
  CHECK(project->script_dir == fs::path("h/migrations"));
  const Graph graph = read_graph(*project);
  INFO(graph.uncertain_reason);
  CHECK(graph.certain);
  CHECK(graph.heads == Strings{"58bb42ec0a76"});
  CHECK(graph.heads == heads_printed(shell(root, std::string(k_alembic) + " -c conf/alembic.ini heads")));
}

TEST_CASE("Deliberate expand/contract branches: the heads and branches are the real Alembic's (needs python3-alembic)") {
  const fs::path fixture = fs::path(MIGRATE_INIT_SOURCE_DIR) / "tests" / "fixtures" / "alembic_check" / "expand_contract";
  Scratch scratch;
  const auto project = find_project(fixture, scratch.root / "none.ini");
  REQUIRE(project);
  const Graph graph = read_graph(*project);
  INFO(graph.uncertain_reason);
  CHECK(graph.certain);
  const std::string alembic = std::string(k_alembic) + " -c " + (fixture / "alembic.ini").string();
  CHECK(graph.heads == heads_printed(shell(scratch.root, alembic + " heads")));
  // "599c6a226151 (expand) (effective head)": each head names its own branch label.
  const std::string printed = shell(scratch.root, alembic + " heads");
  for (const auto& [head, labels] : graph.head_labels) {
    REQUIRE(labels.size() == 1);
    CHECK(printed.find(head + " (" + labels[0] + ")") != std::string::npos);
  }
}
