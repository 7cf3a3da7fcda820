// Fuzzes the untrusted path of POST /v1/edits: the gateway's JSON ->
// protobuf translation and ingest's validation of every change (timestamps,
// ids, value coercion) against a fixed schema.
#include <cstddef>
#include <cstdint>

#include "gateway/edits_json.h"
#include "services/ingest/validate.h"
#include "tests/fuzz/fuzz_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sheetsync::v1::TableSchema* schema =
      new sheetsync::v1::TableSchema(sheetsync::fuzz::FuzzSchema());
  auto request = sheetsync::gateway::ParseEditsBody(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!request.ok()) return 0;
  sheetsync::ValidationLimits limits;
  limits.now_us = 1764082869000000;
  for (const auto& change : request->changes()) {
    (void)sheetsync::ValidateChange(change, *schema, limits);
  }
  return 0;
}
