// UTF-8 checks shared by value coercion and the gateway's input handling.
// Pure functions; thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_UTF8_H_
#define SHEETSYNC_SERVICES_COMMON_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace sheetsync {

// Returns the length of the well-formed UTF-8 sequence at the start of `s`
// (1-4), or 0 when `s` is empty or does not start with one (overlongs,
// surrogates and code points above U+10FFFF are not well-formed).
size_t Utf8SequenceLength(absl::string_view s);

// Returns whether `s` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view s);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_UTF8_H_
