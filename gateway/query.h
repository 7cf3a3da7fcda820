// Query strings and feed cursors of the gateway's GET routes. Pure;
// thread-safe.
#ifndef SHEETSYNC_GATEWAY_QUERY_H_
#define SHEETSYNC_GATEWAY_QUERY_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sheetsync::gateway {

// Returns `text` with its %XX escapes decoded, and '+' as a space when
// `plus_is_space` (query strings; not path segments). InvalidArgument on a
// bad escape or when the result is not UTF-8 (it travels in protobuf
// strings, which must be).
absl::StatusOr<std::string> PercentDecode(absl::string_view text,
                                          bool plus_is_space);

// Returns the parameters of "a=1&b=x%20y" (PercentDecode with '+' as a
// space; the first of repeated names wins). InvalidArgument on a bad escape
// or a name or value that is not UTF-8.
absl::StatusOr<std::map<std::string, std::string>> ParseQuery(
    absl::string_view query);

// Returns the opaque cursor of a feed position, and back. DecodeCursor("")
// is 0 (the beginning); anything not made by EncodeCursor is
// InvalidArgument.
std::string EncodeCursor(int64_t seq);
absl::StatusOr<int64_t> DecodeCursor(absl::string_view cursor);

// Returns the `limit` parameter: `fallback` when absent, capped at `max`;
// InvalidArgument when not a positive integer.
absl::StatusOr<int> ParseLimit(const std::map<std::string, std::string>& params,
                               int fallback, int max);

}  // namespace sheetsync::gateway

#endif  // SHEETSYNC_GATEWAY_QUERY_H_
