// Micro-benchmarks of the hot pure code: the merge rule, the JSON <-> protobuf
// translation of POST /v1/edits (its body and its answer), and value coercion.
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "gateway/edits_json.h"
#include "google/protobuf/struct.pb.h"
#include "services/common/coerce.h"
#include "services/common/merge.h"

namespace sheetsync {
namespace {

std::vector<v1::Change> Changes(int n, int rows) {
  std::mt19937 rng(1);
  std::vector<v1::Change> changes;
  for (int i = 0; i < n; ++i) {
    v1::Change change;
    change.set_event_id(absl::StrCat("event-", i));
    change.set_row_id(absl::StrFormat("00000000-0000-4000-8000-%012d", rng() % rows));
    change.set_updated_at_us(1764082869000000 + rng() % 1000);
    change.set_source(v1::SHEET);
    (*change.mutable_cells())["name"].set_text(absl::StrCat("name-", i));
    (*change.mutable_cells())["email"].set_text(absl::StrCat("e", i, "@example.com"));
    changes.push_back(change);
  }
  return changes;
}

void BM_MergeBatch(benchmark::State& state) {
  const std::vector<v1::Change> changes = Changes(state.range(0), state.range(0) / 2 + 1);
  for (auto _ : state) {
    BatchMerger merger{v1::ReadStateResponse()};
    for (const v1::Change& change : changes) benchmark::DoNotOptimize(merger.Merge(change));
    v1::ApplyRequest plan;
    merger.BuildPlan(plan);
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MergeBatch)->Arg(1)->Arg(50)->Arg(1000);

std::string Body(int n) {
  std::string changes;
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&changes, i ? "," : "",
                    absl::StrFormat("{\"event_id\":\"ev-%d\",\"row_id\":\"00000000-0000-4000-8000-"
                                    "%012d\",\"updated_at\":\"2026-11-25T15:01:09.123Z\","
                                    "\"cells\":{\"name\":\"Ada %d\",\"email\":\"a%d@x.org\","
                                    "\"score\":%d}}",
                                    i, i, i, i, i));
  }
  return absl::StrCat("{\"spreadsheet_id\":\"s\",\"table\":\"users\",\"changes\":[", changes, "]}");
}

void BM_ParseEditsBody(benchmark::State& state) {
  const std::string body = Body(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(gateway::ParseEditsBody(body));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_ParseEditsBody)->Arg(1)->Arg(50)->Arg(1000);

// The answer of POST /v1/edits: every change applied.
void BM_RenderResults(benchmark::State& state) {
  v1::SubmitResponse response;
  for (int i = 0; i < state.range(0); ++i) {
    v1::ChangeResult& result = *response.add_results();
    result.set_event_id(absl::StrCat("ev-", i));
    result.set_row_id(absl::StrFormat("00000000-0000-4000-8000-%012d", i));
    result.set_status("applied");
    for (const char* column : {"name", "email", "score"}) result.add_applied(column);
  }
  for (auto _ : state) benchmark::DoNotOptimize(gateway::RenderResults(response));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RenderResults)->Arg(1)->Arg(50)->Arg(1000);

void BM_Coerce(benchmark::State& state, const char* data_type, const char* column_type,
               google::protobuf::Value value) {
  v1::Column column;
  column.set_name("c");
  column.set_data_type(data_type);
  column.set_column_type(column_type);
  column.set_nullable(true);
  column.set_max_chars(255);
  column.set_max_bytes(1020);
  column.set_numeric_precision(10);
  column.set_numeric_scale(2);
  for (auto _ : state) benchmark::DoNotOptimize(CoerceToColumn(column, value));
}

google::protobuf::Value Number(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}
google::protobuf::Value String(const char* s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

BENCHMARK_CAPTURE(BM_Coerce, int_number, "int", "int(11)", Number(42));
BENCHMARK_CAPTURE(BM_Coerce, varchar, "varchar", "varchar(255)", String("ada@example.com"));
BENCHMARK_CAPTURE(BM_Coerce, decimal, "decimal", "decimal(10,2)", String("1234.5"));
BENCHMARK_CAPTURE(BM_Coerce, datetime, "datetime", "datetime(6)",
                  String("2026-11-25T15:01:09.123456+02:00"));

}  // namespace
}  // namespace sheetsync

BENCHMARK_MAIN();
