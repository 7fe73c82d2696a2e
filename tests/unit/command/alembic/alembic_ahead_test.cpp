// Telling a database ahead of this image (a rollback deploy) from one at a revision no image
// knows: the pure decision over a graph, alembic_version's rows and what newer images recorded.
#include "command/alembic/alembic_ahead.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace migrate_init::alembic;

namespace {

Revision revision(const std::string& id, std::vector<std::string> down, std::vector<std::string> labels = {},
                  std::vector<std::string> depends_on = {}) {
  return Revision{id, std::move(down), std::move(labels), std::move(depends_on), {}, 0};
}

// The older image: a -> b, c -> merge m (two branches merged), head m.
Graph older() {
  return build_graph({revision("a", {}), revision("b", {"a"}), revision("c", {"a"}), revision("m", {"b", "c"})});
}

} // namespace

TEST_CASE("unknown_rows lists the rows these files do not know") {
  CHECK(unknown_rows(older(), {"m"}).empty());
  CHECK(unknown_rows(older(), {"b", "x", "y"}) == std::vector<std::string>{"x", "y"});
}

TEST_CASE("revisions_to_record keeps down_revisions and resolves a depends_on branch label to its revision") {
  const Graph graph = build_graph({revision("a", {}), revision("f", {}, {"feature"}),
                                   revision("b", {"a"}, {}, {"feature", "nowhere"})});
  const auto recorded = revisions_to_record(graph);
  REQUIRE(recorded.size() == 3);
  const auto b = std::find_if(recorded.begin(), recorded.end(), [](const auto& r) { return r.id == "b"; });
  REQUIRE(b != recorded.end());
  CHECK(b->down_revisions == std::vector<std::string>{"a"});
  CHECK(b->depends_on == std::vector<std::string>{"f"});
}

TEST_CASE("A database one or more recorded revisions past this image's head is ahead") {
  const std::vector<RecordedRevision> newer{{"n1", {"m"}, {}}, {"n2", {"n1"}, {}}, {"m", {"b", "c"}, {}}};
  CHECK(standing_of(older(), {"n1"}, newer).ahead);
  CHECK(standing_of(older(), {"n2"}, newer).ahead);
}

TEST_CASE("A revision no image recorded is not ahead, and the reason names it") {
  const auto standing = standing_of(older(), {"zz"}, {{"n1", {"m"}, {}}});
  CHECK_FALSE(standing.ahead);
  CHECK(standing.why.find("zz") != std::string::npos);
  CHECK(standing.why.find("never recorded") != std::string::npos);
  SUBCASE("nor a recorded revision whose recorded parent nobody knows") {
    const auto gap = standing_of(older(), {"n2"}, {{"n2", {"lost"}, {}}});
    CHECK_FALSE(gap.ahead);
    CHECK(gap.why.find("lost") != std::string::npos);
  }
}

TEST_CASE("A recorded branch that does not descend from this image's head is not ahead") {
  // n1 branches off b: the database never had c or m, which this image expects.
  const auto standing = standing_of(older(), {"n1"}, {{"n1", {"b"}, {}}});
  CHECK_FALSE(standing.ahead);
  CHECK(standing.why.find("m") != std::string::npos);
  CHECK(standing.why.find("does not descend") != std::string::npos);
}

TEST_CASE("Several heads: ahead only when the rows together descend from every one of them") {
  const Graph two_heads = build_graph({revision("a", {}), revision("b", {"a"}), revision("c", {"a"})});
  const std::vector<RecordedRevision> newer{{"nb", {"b"}, {}}, {"nc", {"c"}, {}}, {"nd", {"b"}, {"c"}}};
  CHECK(standing_of(two_heads, {"nb", "nc"}, newer).ahead);
  CHECK(standing_of(two_heads, {"nb", "c"}, newer).ahead);  // one branch ahead, the other at its head
  CHECK_FALSE(standing_of(two_heads, {"nb"}, newer).ahead); // c never applied
  CHECK(standing_of(two_heads, {"nd"}, newer).ahead);       // depends_on reaches c
}
