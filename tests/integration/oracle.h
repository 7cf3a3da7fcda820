// The contract's merge rule computed the obvious way, from the whole multiset
// of changes at once: the expected table of the convergence tests.
// Header-only; pure.
#ifndef SHEETSYNC_TESTS_INTEGRATION_ORACLE_H_
#define SHEETSYNC_TESTS_INTEGRATION_ORACLE_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sheetsync::test {

struct OracleChange {
  std::string event_id;
  std::string row_id;
  int64_t ts_us = 0;
  bool deleted = false;
  std::map<std::string, std::optional<std::string>> cells;
};

// row id -> column -> value (nullopt: NULL) for every column in `columns`.
using OracleTable =
    std::map<std::string, std::map<std::string, std::optional<std::string>>>;

inline OracleTable Oracle(const std::vector<OracleChange>& changes,
                          const std::vector<std::string>& columns) {
  std::map<std::string, const OracleChange*> unique;  // first per event id
  for (const OracleChange& change : changes) unique.emplace(change.event_id, &change);
  using Version = std::pair<int64_t, std::string>;
  std::map<std::string, Version> tombstones;
  for (const auto& [eid, change] : unique) {
    if (!change->deleted) continue;
    auto [it, inserted] = tombstones.emplace(change->row_id, Version{change->ts_us, eid});
    if (!inserted && Version{change->ts_us, eid} > it->second) {
      it->second = {change->ts_us, eid};
    }
  }
  std::map<std::string, std::map<std::string, std::pair<Version, std::optional<std::string>>>>
      winners;
  for (const auto& [eid, change] : unique) {
    if (change->deleted) continue;
    auto tomb = tombstones.find(change->row_id);
    if (tomb != tombstones.end() && change->ts_us <= tomb->second.first) continue;
    for (const auto& [column, value] : change->cells) {
      auto& cell = winners[change->row_id];
      Version version{change->ts_us, eid};
      auto it = cell.find(column);
      if (it == cell.end() || version > it->second.first) {
        cell[column] = {version, value};
      }
    }
  }
  OracleTable table;
  for (const auto& [row_id, cells] : winners) {
    auto& row = table[row_id];
    for (const std::string& column : columns) row[column] = std::nullopt;
    for (const auto& [column, winner] : cells) row[column] = winner.second;
  }
  return table;
}

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_INTEGRATION_ORACLE_H_
