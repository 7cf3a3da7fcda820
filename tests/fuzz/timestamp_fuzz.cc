// Fuzzes updated_at parsing: an accepted timestamp formats and parses back
// to the same microsecond.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "services/common/time_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto us = sheetsync::ParseRfc3339Micros(text);
  if (!us.ok()) return 0;
  auto again = sheetsync::ParseRfc3339Micros(sheetsync::FormatRfc3339Micros(*us));
  if (!again.ok() || *again != *us) std::abort();
  return 0;
}
