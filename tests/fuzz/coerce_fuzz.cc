// Fuzzes value coercion: the first byte picks a column, the rest is a JSON
// value (or, when not JSON, a string). Whatever is accepted must round-trip
// through the feed's reverse mapping unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "google/protobuf/util/json_util.h"
#include "services/common/coerce.h"
#include "tests/fuzz/fuzz_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sheetsync::v1::TableSchema* schema =
      new sheetsync::v1::TableSchema(sheetsync::fuzz::FuzzSchema());
  if (size == 0) return 0;
  const auto& column = schema->columns(1 + data[0] % (schema->columns_size() - 1));
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  google::protobuf::Value value;
  if (!google::protobuf::util::JsonStringToMessage(text, &value).ok()) {
    value.set_string_value(text);
  }
  auto coerced = sheetsync::CoerceToColumn(column, value);
  if (!coerced.ok()) return 0;
  auto again = sheetsync::CoerceToColumn(column, sheetsync::SqlToJson(column, *coerced));
  if (!again.ok() || again->is_null() != coerced->is_null() ||
      again->text() != coerced->text()) {
    std::abort();  // a value changed silently
  }
  return 0;
}
