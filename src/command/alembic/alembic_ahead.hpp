#pragma once

#include "command/alembic/alembic_graph.hpp"

#include <string>
#include <vector>

// A rollback deploy: an older image meets a database a newer image upgraded, at a revision
// whose file the older image lacks. Alembic cannot tell that from a revision nobody knows
// ("Can't locate revision"), so each image that upgrades leaves a record of the revisions
// its files know (alembic_revision_record.hpp), and an image that meets a revision it lacks
// decides from that record. Pure.
namespace migrate_init::alembic {

// One revision as an image that had its file recorded it.
struct RecordedRevision {
  std::string id;
  std::vector<std::string> down_revisions;
  std::vector<std::string> depends_on; // revision ids (branch labels resolved when recorded)
};

// Where a database that is not at this image's heads stands, when its rows name a revision
// these files lack.
struct Standing {
  bool ahead = false;  // every such revision was recorded, and descends from all of this image's heads
  std::string why;     // when not ahead: what stops it, for the messages
};

// The rows of alembic_version these revision files do not know, in row order.
std::vector<std::string> unknown_rows(const Graph& graph, const std::vector<std::string>& version_rows);

// What an image with this graph records: each revision with its down_revisions and its
// depends_on resolved to revision ids (a branch label names the revision that declares it;
// a name that resolves to nothing is left out), in graph order.
std::vector<RecordedRevision> revisions_to_record(const Graph& graph);

// Whether the database is ahead of this image: walking from the rows through down_revisions
// and depends_on (this graph's edges for the revisions it knows, the record's for the
// others) meets no revision that is neither known nor recorded, and reaches every one of
// this graph's heads. Otherwise `why` names the revisions never recorded, or the heads the
// database does not descend from (a branch this image never saw).
Standing standing_of(const Graph& graph, const std::vector<std::string>& version_rows,
                     const std::vector<RecordedRevision>& recorded);

} // namespace migrate_init::alembic
