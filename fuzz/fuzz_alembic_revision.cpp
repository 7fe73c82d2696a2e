// Fuzzes the reading of Alembic revision files (command mode's no-op check): the input is
// one or more revision files, separated by NUL bytes.
//
// Invariants (a broken one traps, which libFuzzer reports as a crash):
//   parse_revision_source: a file read with certainty has a non-empty id made of printable
//     ASCII without @ - + :, on a line the text has (the name `revision`
//     is in the text: adjacent strings may make the id itself); it is not its own
//     down_revision; a file not read has a reason "line N: why" or a plain why
//   build_graph: every head is a revision's id and no revision's down_revision; the version
//     heads are heads; a certain graph has no doubt, an uncertain one has its first doubt
//     as its reason; with one head or none, no head labels

#include "command/alembic/alembic_graph.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using migrate_init::alembic::Revision;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void check_revision(std::string_view text, const Revision& revision) {
  check(!revision.id.empty());
  for (const char c : revision.id) check(c > ' ' && c < 0x7f && std::string_view("@-+:").find(c) == std::string_view::npos);
  check(text.find("revision") != std::string_view::npos);
  check(revision.line >= 1 && revision.line <= 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
  check(std::find(revision.down_revisions.begin(), revision.down_revisions.end(), revision.id) ==
        revision.down_revisions.end());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<Revision> revisions;
  for (std::size_t start = 0, file = 0; start <= input.size() && file < 16; ++file) {
    const std::size_t end = std::min(input.find('\0', start), input.size());
    const std::string_view text = input.substr(start, end - start);
    std::string why;
    auto revision = migrate_init::alembic::parse_revision_source(text, why);
    if (revision) {
      check_revision(text, *revision);
      revision->file = "versions/" + std::to_string(file) + ".py";
      revisions.push_back(std::move(*revision));
    } else {
      check(!why.empty());
    }
    start = end + 1;
  }

  std::set<std::string> ids, downs;
  for (const auto& revision : revisions) {
    ids.insert(revision.id);
    downs.insert(revision.down_revisions.begin(), revision.down_revisions.end());
  }
  const auto graph = migrate_init::alembic::build_graph(std::move(revisions));
  check(std::is_sorted(graph.heads.begin(), graph.heads.end()));
  for (const auto& head : graph.heads) check(ids.contains(head) && !downs.contains(head));
  for (const auto& head : graph.version_heads) {
    check(std::binary_search(graph.heads.begin(), graph.heads.end(), head));
  }
  check(graph.certain == graph.doubts.empty());
  if (!graph.certain) check(graph.uncertain_reason == graph.doubts.front().where + ": " + graph.doubts.front().message);
  if (graph.heads.size() < 2) check(graph.head_labels.empty());
  return 0;
}
