#include "command/alembic/alembic_graph.hpp"

#include "command/alembic/python_assignments.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace migrate_init::alembic {
namespace {

namespace fs = std::filesystem;

// ---- one revision file ----

// The module-level names Alembic reads from a revision file.
constexpr std::string_view k_names[] = {"revision", "down_revision", "branch_labels", "depends_on"};

bool valid_id(const std::string& id) {
  // Alembic refuses @ - + : in an id; anything beyond printable ASCII is not trusted here.
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return c > ' ' && c < 0x7f && std::string_view("@-+:").find(c) == std::string_view::npos;
  });
}

// The revision the assignments describe; nullopt, with `uncertain_reason` set, when they
// are not what Alembic would accept.
std::optional<Revision> revision_from(const std::map<std::string, Assignment>& found, std::string& uncertain_reason) {
  const auto revision = found.find("revision");
  if (revision == found.end()) {
    uncertain_reason = "no module-level revision = '...'";
    return std::nullopt;
  }
  const auto& [id_value, id_line] = revision->second;
  const std::string at = "line " + std::to_string(id_line) + ": ";
  if (!id_value.scalar || !valid_id(id_value.strings[0])) {
    uncertain_reason = at + "revision is not one revision id";
    return std::nullopt;
  }
  Revision out{id_value.strings[0], {}, {}, {}, {}, id_line};
  const auto down = found.find("down_revision");
  if (down == found.end()) {
    uncertain_reason = "no module-level down_revision (Alembic requires it)";
    return std::nullopt;
  }
  auto list_of = [&](const char* name, std::vector<std::string>& into) {
    const auto it = found.find(name);
    if (it == found.end()) return true;
    into = it->second.value.strings;
    if (std::all_of(into.begin(), into.end(), valid_id) &&
        std::find(into.begin(), into.end(), out.id) == into.end()) {
      return true;
    }
    uncertain_reason = "line " + std::to_string(it->second.line) + ": " + name + " is not a list of revision ids";
    return false;
  };
  if (!list_of("down_revision", out.down_revisions) || !list_of("branch_labels", out.branch_labels) ||
      !list_of("depends_on", out.depends_on)) {
    return std::nullopt;
  }
  return out;
}

// ---- files ----

void mark_uncertain(Graph& graph, const std::string& where, const std::string& message) {
  if (graph.certain) graph.uncertain_reason = where + ": " + message;
  graph.certain = false;
  graph.doubts.push_back({where, message});
}

// Alembic's rule (script/base.py, _only_source_rev_file): a name ending in .py that does
// not start with `.#` (an editor's lock file) or `__init__`. Files starting with `_` or
// `.` otherwise ARE loaded.
bool is_revision_file_name(const std::string& name) {
  return name.size() > 3 && name.ends_with(".py") && !name.starts_with(".#") && !name.starts_with("__init__");
}

// A revision file as its directory lists it.
struct ListedFile {
  fs::path path;
  bool link = false; // a symbolic link (the listing's file type: no stat per file)
};

// The revision files of one version directory, sorted, as Alembic lists them: the top
// level, or every directory but __pycache__ ones when recursive.
std::vector<ListedFile> revision_files(const fs::path& dir, bool recursive, Graph& graph) {
  std::vector<ListedFile> files;
  std::error_code error;
  std::vector<fs::path> pending{dir};
  while (!pending.empty()) {
    const fs::path current = pending.back();
    pending.pop_back();
    for (fs::directory_iterator it(current, error), end; !error && it != end; it.increment(error)) {
      const std::string name = it->path().filename().string();
      std::error_code kind_error;
      if (it->is_directory(kind_error)) {
        if (recursive && !name.ends_with("__pycache__")) pending.push_back(it->path());
      } else if (is_revision_file_name(name)) {
        files.push_back({it->path(), it->is_symlink(kind_error)});
      }
    }
    if (error) mark_uncertain(graph, shown(current), "cannot be read: " + error.message());
  }
  // One directory's files differ only in their names: comparing those is the paths' order,
  // without splitting each path into its parts at every comparison.
  if (recursive) {
    std::sort(files.begin(), files.end(), [](const ListedFile& a, const ListedFile& b) { return a.path < b.path; });
  } else {
    std::sort(files.begin(), files.end(), [](const ListedFile& a, const ListedFile& b) {
      return a.path.native().compare(b.path.native()) < 0;
    });
  }
  return files;
}

} // namespace

std::optional<Revision> parse_revision_source(std::string_view text, std::string& uncertain_reason) {
  auto found = read_module_assignments(text, k_names, uncertain_reason);
  if (!found) return std::nullopt;
  return revision_from(*found, uncertain_reason);
}

// ---- the graph ----

namespace {

std::string where(const Revision& revision) { return shown(revision.file) + ":" + std::to_string(revision.line); }

struct Index {
  std::map<std::string, const Revision*> by_id, by_label;
};

// Revisions by id and by branch label; a second revision with one id or label is a
// conflict Alembic resolves by file order (an id) or refuses (a label).
Index index_of(const std::vector<Revision>& revisions, Graph& graph) {
  Index index;
  for (const auto& revision : revisions) {
    auto [it, added] = index.by_id.emplace(revision.id, &revision);
    if (!added) {
      mark_uncertain(graph, where(*it->second), "revision " + revision.id + " is also the id of " + where(revision) +
                                                    ": two files with one revision id (give one a new id)");
      mark_uncertain(graph, where(revision), "revision " + revision.id + " is also the id of " + where(*it->second));
    }
  }
  for (const auto& revision : revisions) {
    for (const auto& label : revision.branch_labels) {
      if (!index.by_label.emplace(label, &revision).second || index.by_id.contains(label)) {
        mark_uncertain(graph, where(revision), "branch label " + label + " is already used by another revision");
      }
    }
  }
  return index;
}

void check_references(const std::vector<Revision>& revisions, const Index& index, Graph& graph) {
  for (const auto& revision : revisions) {
    for (const auto& down : revision.down_revisions) {
      if (!index.by_id.contains(down)) {
        mark_uncertain(graph, where(revision), "down_revision " + down + " of revision " + revision.id +
                                                   " names no revision (was its file deleted or renamed?)");
      }
    }
    for (const auto& dependency : revision.depends_on) {
      if (!index.by_id.contains(dependency) && !index.by_label.contains(dependency)) {
        mark_uncertain(graph, where(revision), "depends_on " + dependency + " of revision " + revision.id +
                                                   " names no revision or branch label");
      }
    }
  }
}

// A cycle of down_revisions (a -> b -> a), which Alembic refuses: Kahn's algorithm, so a
// long history needs no deep recursion. Revisions left once every one that nothing points
// at has been taken away are on a cycle or behind one.
void check_cycles(const Index& index, Graph& graph) {
  std::map<std::string, std::size_t> children; // how many revisions name it as down_revision
  for (const auto& [id, revision] : index.by_id) {
    for (const auto& down : revision->down_revisions) {
      if (index.by_id.contains(down)) ++children[down];
    }
  }
  std::vector<std::string> free;
  for (const auto& [id, revision] : index.by_id) {
    if (children[id] == 0) free.push_back(id);
  }
  std::size_t taken = 0;
  while (!free.empty()) {
    const std::string id = std::move(free.back());
    free.pop_back();
    ++taken;
    for (const auto& down : index.by_id.at(id)->down_revisions) {
      if (index.by_id.contains(down) && --children[down] == 0) free.push_back(down);
    }
  }
  if (taken == index.by_id.size()) return;
  for (const auto& [id, revision] : index.by_id) {
    if (children[id] > 0) {
      mark_uncertain(graph, where(*revision), "revision " + id + " is on or behind a cycle of down_revisions");
      return;
    }
  }
}

// "line 12: why" from parse_revision_source, as where "file:12" and "why".
Doubt file_doubt(const fs::path& file, const std::string& why) {
  if (why.starts_with("line ")) {
    const std::size_t colon = why.find(": ");
    if (colon != std::string::npos) return {shown(file) + ":" + why.substr(5, colon - 5), why.substr(colon + 2)};
  }
  return {shown(file), why};
}

// Each head's own branch labels (Graph::head_labels): the ancestors of every head, through
// down_revision, counted; the labels of those only one head has are that head's.
std::map<std::string, std::vector<std::string>> own_labels(const std::vector<std::string>& heads, const Index& index) {
  std::map<std::string, std::vector<std::string>> out;
  if (heads.size() < 2) return out;
  std::map<std::string, std::size_t> descendant_heads; // how many heads descend from a revision
  std::vector<std::set<std::string>> ancestries;
  for (const auto& head : heads) {
    std::set<std::string> seen{head};
    std::vector<std::string> pending{head};
    while (!pending.empty()) {
      const auto revision = index.by_id.find(pending.back());
      pending.pop_back();
      if (revision == index.by_id.end()) continue;
      for (const auto& down : revision->second->down_revisions) {
        if (seen.insert(down).second) pending.push_back(down);
      }
    }
    for (const auto& id : seen) ++descendant_heads[id];
    ancestries.push_back(std::move(seen));
  }
  for (std::size_t i = 0; i < heads.size(); ++i) {
    auto& labels = out[heads[i]];
    for (const auto& id : ancestries[i]) {
      const auto revision = index.by_id.find(id);
      if (descendant_heads[id] != 1 || revision == index.by_id.end()) continue;
      labels.insert(labels.end(), revision->second->branch_labels.begin(), revision->second->branch_labels.end());
    }
    std::sort(labels.begin(), labels.end());
  }
  return out;
}

} // namespace

Graph build_graph(std::vector<Revision> revisions) {
  Graph graph;
  std::sort(revisions.begin(), revisions.end(), [](const Revision& a, const Revision& b) {
    return a.id != b.id ? a.id < b.id : a.file < b.file;
  });
  const Index index = index_of(revisions, graph);
  check_references(revisions, index, graph);
  check_cycles(index, graph);
  std::set<std::string> named, depended_on;
  for (const auto& revision : revisions) {
    named.insert(revision.down_revisions.begin(), revision.down_revisions.end());
    for (const auto& dependency : revision.depends_on) {
      const auto labelled = index.by_label.find(dependency);
      depended_on.insert(labelled != index.by_label.end() ? labelled->second->id : dependency);
    }
  }
  for (const auto& [id, revision] : index.by_id) {
    if (named.contains(id)) continue;
    graph.heads.push_back(id);
    if (!depended_on.contains(id)) graph.version_heads.push_back(id);
  }
  graph.head_labels = own_labels(graph.heads, index);
  graph.revisions = std::move(revisions);
  return graph;
}

std::vector<fs::path> list_revision_files(const Project& project, Graph& graph) {
  std::vector<fs::path> files;
  std::set<std::string> seen; // Alembic reads a file listed twice (by two locations) once
  for (const auto& dir : project.version_dirs) {
    std::error_code error;
    if (!fs::is_directory(dir, error)) {
      // Alembic skips a version location that does not exist; a missing versions/ of a
      // script directory is an error in Alembic 1.8.
      if (dir == project.script_dir / "versions") mark_uncertain(graph, shown(dir), "is not a directory");
      continue;
    }
    // The real path of a plain file directly in `dir` is the directory's real path and its
    // name: one resolution per directory, not one per file (a no-op start reads them all).
    const fs::path real_dir = fs::weakly_canonical(dir, error);
    for (auto& file : revision_files(dir, project.recursive, graph)) {
      const bool plain = !project.recursive && !file.link;
      const fs::path real = plain ? real_dir / file.path.filename() : fs::weakly_canonical(file.path, error);
      if (seen.insert(real.native()).second) files.push_back(std::move(file.path));
    }
  }
  return files;
}

RevisionListing list_revisions(const Project& project) {
  RevisionListing listing;
  if (!project.uncertain_reason.empty()) {
    mark_uncertain(listing.doubts, shown(project.ini.value_or(project.script_dir)), project.uncertain_reason);
  }
  listing.files = list_revision_files(project, listing.doubts);
  return listing;
}

Graph read_graph(RevisionListing listing) {
  Graph& files = listing.doubts;
  std::vector<Revision> revisions;
  for (const auto& file : listing.files) {
    const auto text = read_text(file);
    std::string why = "cannot be read";
    auto revision = text ? parse_revision_source(*text, why) : std::nullopt;
    if (!revision) {
      const Doubt doubt = file_doubt(file, why);
      mark_uncertain(files, doubt.where, doubt.message);
      continue;
    }
    revision->file = file;
    revisions.push_back(std::move(*revision));
  }
  Graph graph = build_graph(std::move(revisions));
  if (!files.certain) {
    graph.uncertain_reason = files.uncertain_reason;
    graph.certain = false;
    graph.doubts.insert(graph.doubts.begin(), files.doubts.begin(), files.doubts.end());
  }
  return graph;
}

Graph read_graph(const Project& project) { return read_graph(list_revisions(project)); }

bool database_at_heads(const Graph& graph, const std::vector<std::string>& version_rows) {
  if (!graph.certain) return false;
  const std::set<std::string> rows(version_rows.begin(), version_rows.end());
  return rows == std::set<std::string>(graph.heads.begin(), graph.heads.end()) ||
         rows == std::set<std::string>(graph.version_heads.begin(), graph.version_heads.end());
}

} // namespace migrate_init::alembic
