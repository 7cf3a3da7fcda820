// Property test of the merge rule: random multisets of changes (colliding
// timestamps, deletes, duplicates, SHEET and MYSQL sources) applied in many
// random orders and random batch splits give the state a straightforward
// oracle computes, in the version store and in the user table alike.
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "services/common/merge.h"

namespace sheetsync {
namespace {

const std::vector<std::string> kColumns = {"a", "b", "c"};
const std::vector<std::string> kRows = {"r1", "r2", "r3"};

using TableRow = std::map<std::string, std::optional<std::string>>;
using Table = std::map<std::string, TableRow>;

// The store a writer would keep, updated only through plans.
struct Store {
  std::map<std::string, v1::RowState> rows;
  std::set<std::string> events;
  Table table;  // the user table, columns default to NULL
  std::set<std::string> sql_done;

  v1::ReadStateResponse Read() const {
    v1::ReadStateResponse response;
    for (const auto& [id, row] : rows) *response.add_rows() = row;
    for (const auto& event : events) response.add_known_event_ids(event);
    return response;
  }

  void Commit(const v1::ApplyRequest& plan) {
    for (const auto& event : plan.new_event_ids()) events.insert(event);
    for (const v1::RowWrite& write : plan.rows()) {
      v1::RowState& row = rows[write.row_id()];
      ASSERT_EQ(row.rev(), write.expected_rev());
      row.set_row_id(write.row_id());
      row.set_rev(row.rev() + 1);
      if (write.has_tombstone()) *row.mutable_tombstone() = write.tombstone();
      for (const auto& [col, version] : write.cell_upserts()) {
        (*row.mutable_cells())[col] = version;
      }
      for (const auto& col : write.cell_erasures()) row.mutable_cells()->erase(col);
      ApplyToTable(write);
    }
  }

  void ApplyToTable(const v1::RowWrite& write) {
    if (write.delete_row()) {
      table.erase(write.row_id());
      return;
    }
    auto it = table.find(write.row_id());
    if (it == table.end() || write.replace_row()) {
      TableRow fresh;
      for (const auto& col : kColumns) fresh[col] = std::nullopt;
      it = table.insert_or_assign(write.row_id(), fresh).first;
    }
    for (const auto& [col, value] : write.table_values()) {
      it->second[col] = value.is_default() || value.is_null()
                            ? std::nullopt
                            : std::optional<std::string>(value.text());
    }
  }

  // What a direct SQL statement did before the engine captured it.
  // A replayed capture did not run its SQL twice.
  void SqlEffect(const v1::Change& change) {
    if (!sql_done.insert(change.event_id()).second) return;
    if (change.deleted()) {
      table.erase(change.row_id());
      return;
    }
    TableRow& row = table[change.row_id()];
    for (const auto& col : kColumns) row.try_emplace(col, std::nullopt);
    for (const auto& [col, value] : change.cells()) row[col] = value.text();
  }
};

// The oracle: the contract's rule computed from the whole multiset at once.
Table Oracle(const std::vector<v1::Change>& changes) {
  std::map<std::string, v1::Change> unique;  // first occurrence per event id
  for (const auto& change : changes) unique.try_emplace(change.event_id(), change);
  Table table;
  for (const auto& row_id : kRows) {
    std::optional<std::pair<int64_t, std::string>> tombstone;
    for (const auto& [eid, change] : unique) {
      if (change.row_id() != row_id || !change.deleted()) continue;
      auto version = std::make_pair(change.updated_at_us(), eid);
      if (!tombstone || version > *tombstone) tombstone = version;
    }
    TableRow row;
    bool exists = false;
    for (const auto& col : kColumns) {
      std::optional<std::pair<int64_t, std::string>> best;
      std::optional<std::string> value;
      for (const auto& [eid, change] : unique) {
        if (change.row_id() != row_id || change.deleted()) continue;
        auto cell = change.cells().find(col);
        if (cell == change.cells().end()) continue;
        if (tombstone && change.updated_at_us() <= tombstone->first) continue;
        auto version = std::make_pair(change.updated_at_us(), eid);
        if (!best || version > *best) {
          best = version;
          value = cell->second.text();
        }
      }
      row[col] = value;
      exists = exists || best.has_value();
    }
    if (exists) table[row_id] = row;
  }
  return table;
}

std::vector<v1::Change> RandomChanges(std::mt19937& rng) {
  std::uniform_int_distribution<int> count(1, 14), ts(1, 6), pick(0, 2),
      kind(0, 9);
  std::vector<v1::Change> changes;
  const int n = count(rng);
  for (int i = 0; i < n; ++i) {
    v1::Change change;
    change.set_event_id("e" + std::to_string(i));
    change.set_row_id(kRows[pick(rng)]);
    change.set_updated_at_us(ts(rng));
    change.set_source(kind(rng) < 5 ? v1::SHEET : v1::MYSQL);
    const int k = kind(rng);
    if (k < 2) {
      change.set_deleted(true);
    } else {
      for (const auto& col : kColumns) {
        if (pick(rng) != 0 || change.cells().empty()) {
          (*change.mutable_cells())[col].set_text(col + std::to_string(i));
        }
      }
    }
    changes.push_back(change);
    if (kind(rng) == 0) changes.push_back(change);  // an exact replay
  }
  return changes;
}

Store RunInBatches(std::vector<v1::Change> changes, std::mt19937& rng) {
  std::shuffle(changes.begin(), changes.end(), rng);
  Store store;
  std::uniform_int_distribution<size_t> batch_size(1, 4);
  for (size_t start = 0; start < changes.size();) {
    const size_t end = std::min(changes.size(), start + batch_size(rng));
    BatchMerger merger{store.Read()};
    for (size_t i = start; i < end; ++i) {
      if (changes[i].source() == v1::MYSQL) store.SqlEffect(changes[i]);
      merger.Merge(changes[i]);
    }
    v1::ApplyRequest plan;
    merger.BuildPlan(plan);
    store.Commit(plan);
    start = end;
  }
  return store;
}

Table MergedState(const Store& store) {
  Table table;
  for (const auto& [row_id, row] : store.rows) {
    if (row.cells().empty()) continue;
    TableRow& out = table[row_id];
    for (const auto& col : kColumns) {
      auto cell = row.cells().find(col);
      out[col] = cell == row.cells().end()
                     ? std::nullopt
                     : std::optional<std::string>(cell->second.value().text());
    }
  }
  return table;
}

TEST(MergePropertyTest, AnyOrderAndBatchingGivesTheOracleState) {
  std::mt19937 rng(20261125);
  for (int round = 0; round < 400; ++round) {
    const std::vector<v1::Change> changes = RandomChanges(rng);
    const Table expected = Oracle(changes);
    for (int order = 0; order < 12; ++order) {
      Store store = RunInBatches(changes, rng);
      ASSERT_EQ(MergedState(store), expected) << "round " << round;
      // The user table only differs by MYSQL edits of rows the engine never
      // heard of; with every change captured it equals the merged state.
      ASSERT_EQ(store.table, expected) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace sheetsync
