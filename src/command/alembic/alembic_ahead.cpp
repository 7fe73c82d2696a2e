#include "command/alembic/alembic_ahead.hpp"

#include "text.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace migrate_init::alembic {
namespace {

const Revision* find_revision(const Graph& graph, const std::string& id) {
  const auto found = std::find_if(graph.revisions.begin(), graph.revisions.end(),
                                  [&](const Revision& revision) { return revision.id == id; });
  return found == graph.revisions.end() ? nullptr : &*found;
}

// A depends_on entry as a revision id: itself, or the revision that declares it as a branch
// label (as Alembic's revision map resolves it); nullopt when it names nothing here.
std::optional<std::string> resolved(const Graph& graph, const std::string& name) {
  if (find_revision(graph, name)) return name;
  for (const auto& revision : graph.revisions) {
    const auto& labels = revision.branch_labels;
    if (std::find(labels.begin(), labels.end(), name) != labels.end()) return revision.id;
  }
  return std::nullopt;
}

// The parents of `id` the walk follows: this graph's when it knows `id`, else the record's;
// nullopt when neither knows it.
std::optional<std::vector<std::string>> parents_of(const Graph& graph, const std::string& id,
                                                   const std::map<std::string, const RecordedRevision*>& recorded) {
  if (const Revision* known = find_revision(graph, id)) {
    std::vector<std::string> parents = known->down_revisions;
    for (const auto& name : known->depends_on) {
      if (const auto target = resolved(graph, name)) parents.push_back(*target);
    }
    return parents;
  }
  const auto found = recorded.find(id);
  if (found == recorded.end()) return std::nullopt;
  std::vector<std::string> parents = found->second->down_revisions;
  parents.insert(parents.end(), found->second->depends_on.begin(), found->second->depends_on.end());
  return parents;
}

} // namespace

std::vector<std::string> unknown_rows(const Graph& graph, const std::vector<std::string>& version_rows) {
  std::vector<std::string> unknown;
  for (const auto& row : version_rows) {
    if (!find_revision(graph, row)) unknown.push_back(row);
  }
  return unknown;
}

std::vector<RecordedRevision> revisions_to_record(const Graph& graph) {
  std::vector<RecordedRevision> out;
  for (const auto& revision : graph.revisions) {
    RecordedRevision recorded{revision.id, revision.down_revisions, {}};
    for (const auto& name : revision.depends_on) {
      if (const auto target = resolved(graph, name)) recorded.depends_on.push_back(*target);
    }
    out.push_back(std::move(recorded));
  }
  return out;
}

Standing standing_of(const Graph& graph, const std::vector<std::string>& version_rows,
                     const std::vector<RecordedRevision>& recorded) {
  std::map<std::string, const RecordedRevision*> by_id;
  for (const auto& revision : recorded) by_id.emplace(revision.id, &revision);
  std::set<std::string> reached;
  std::vector<std::string> never_recorded;
  std::vector<std::string> todo(version_rows.rbegin(), version_rows.rend());
  while (!todo.empty()) {
    const std::string id = todo.back();
    todo.pop_back();
    if (!reached.insert(id).second) continue;
    const auto parents = parents_of(graph, id, by_id);
    if (!parents) {
      never_recorded.push_back(id);
      continue;
    }
    todo.insert(todo.end(), parents->rbegin(), parents->rend());
  }
  if (!never_recorded.empty()) {
    return {false, joined(never_recorded) + (never_recorded.size() == 1 ? " is" : " are") +
                       " unknown to this image's revision files and never recorded by any image"};
  }
  std::vector<std::string> not_reached;
  for (const auto& head : graph.heads) {
    if (!reached.contains(head)) not_reached.push_back(head);
  }
  if (!not_reached.empty()) {
    return {false, joined(unknown_rows(graph, version_rows)) + ", recorded by another image, does not descend from " +
                       "this image's head " + joined(not_reached) + " (a branch this image does not have)"};
  }
  return {true, ""};
}

} // namespace migrate_init::alembic
