// Fuzzes the feed routes' untrusted input: query strings and cursors. A
// decoded cursor must encode back to one that decodes the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "gateway/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)sheetsync::gateway::ParseQuery(text);
  auto seq = sheetsync::gateway::DecodeCursor(text);
  if (!seq.ok()) return 0;
  auto again = sheetsync::gateway::DecodeCursor(sheetsync::gateway::EncodeCursor(*seq));
  if (!again.ok() || *again != *seq) std::abort();
  return 0;
}
