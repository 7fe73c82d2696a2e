#pragma once

#include "command/alembic/alembic_config.hpp"

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Alembic's revision graph, read from the revision files without Python: what the fast
// path compares with the rows of alembic_version, and what `migrate-init check` reports
// on. Anything this cannot read with certainty makes the graph uncertain, and an uncertain
// graph is never trusted to skip the migrator.
namespace migrate_init::alembic {

// One revision file, understood.
struct Revision {
  std::string id;
  std::vector<std::string> down_revisions; // empty: a base
  std::vector<std::string> branch_labels;
  std::vector<std::string> depends_on;     // revision ids or branch labels
  std::filesystem::path file;
  std::size_t line = 0;                    // the line of `revision = ...`
};

// Reads the module-level `revision`, `down_revision`, `branch_labels` and `depends_on` of a
// revision file in the forms Alembic's templates write (plain or annotated assignments of
// a string, None, or a tuple or list of strings). nullopt, with `uncertain_reason` set to
// "line N: why", when the file's values cannot be read with certainty. Pure.
std::optional<Revision> parse_revision_source(std::string_view text, std::string& uncertain_reason);

// Something that makes a graph uncertain, and where it is.
struct Doubt {
  std::string where;   // "file:line", a file, or a directory
  std::string message; // what is wrong
};

// Every revision and the heads, with whether it can be trusted.
struct Graph {
  std::vector<Revision> revisions;
  std::vector<std::string> heads; // revisions no other names as down_revision, sorted
  // The heads no revision names in depends_on either, sorted: what alembic_version holds
  // after `alembic upgrade heads` (a head another revision depends on is not kept as a row).
  std::vector<std::string> version_heads;
  // With more than one head, each head's own branch labels: those of the revisions it
  // descends from (itself included, through down_revision) that no other head descends
  // from. A head with some is a deliberate branch (expand/contract, as OpenStack's
  // projects keep them, each labelled from its root); one with none is accidental (two
  // developers branched from one revision). Empty with one head.
  std::map<std::string, std::vector<std::string>> head_labels;
  bool certain = true;
  std::string uncertain_reason;   // the first doubt, as "where: message"
  std::vector<Doubt> doubts;      // every doubt, in the order found
};

// The graph of these revisions: heads as Alembic computes them (depends_on does not make a
// revision a non-head), uncertain on a duplicate id, a down_revision or depends_on naming
// nothing, a branch label used twice, or a cycle: Alembic refuses those. Pure.
Graph build_graph(std::vector<Revision> revisions);

// The revision files of the project's version directories as Alembic lists them, sorted
// per directory: names ending in .py except `.#*` and `__init__*`, at the top level or,
// when recursive, in every subdirectory but `__pycache__`. A directory that cannot be
// read is a doubt in `graph`. Reads directories.
std::vector<std::filesystem::path> list_revision_files(const Project& project, Graph& graph);

// The project's revision files (list_revision_files), with the doubts found before any is
// read: the project's own and those of the listing. Reads directories.
struct RevisionListing {
  std::vector<std::filesystem::path> files;
  Graph doubts;
};
RevisionListing list_revisions(const Project& project);

// Reads the listed revision files and builds the graph. A file that cannot be read with
// certainty, or a doubt of the listing, makes the graph uncertain. Reads files.
Graph read_graph(RevisionListing listing);
// Both: the project's revision files as Alembic lists them, read into the graph.
Graph read_graph(const Project& project);

// Whether the database needs no upgrade: the graph is certain and the rows of
// alembic_version are, as a set, its heads or its version_heads. Every revision is an
// ancestor of a head (through down_revision), and of a version head (through down_revision
// and depends_on), so the database then holds every revision and `alembic upgrade heads`
// is a no-op. Rows that are some other set (a branch behind) are not at heads.
// With more than one head (deliberate branches, or an accidental fork) this says true when
// the rows are those heads, which is what `alembic upgrade heads` leaves; `alembic upgrade
// head` (singular) fails on such a graph ("Multiple head revisions"), which `migrate-init
// check` reports. Rows naming a revision
// the graph lacks (a newer image's database) are never at heads. Pure.
bool database_at_heads(const Graph& graph, const std::vector<std::string>& version_rows);

} // namespace migrate_init::alembic
