// A strict check of JSON text against RFC 8259, run before protobuf's JSON
// parser, which is lenient (it accepts single quotes, unquoted names,
// trailing commas and raw control characters in strings): the contract
// answers 400 to a body that is not JSON, so what protobuf would accept
// beyond the RFC must not get through. Pure; thread-safe.
#ifndef SHEETSYNC_GATEWAY_JSON_SYNTAX_H_
#define SHEETSYNC_GATEWAY_JSON_SYNTAX_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sheetsync::gateway {

// Returns OK when `text` is one JSON value (RFC 8259: surrounding whitespace
// allowed, no byte order mark) whose strings are well-formed UTF-8 without
// lone surrogate escapes, nested at most `max_depth` arrays/objects deep.
// Otherwise InvalidArgument saying what is wrong and at which byte offset.
// Duplicate names and number ranges are not checked here.
//
// When `long_numbers` is given, it is set to whether some number has more
// than 15 digits or an exponent: the numbers whose value a double may not
// hold exactly (any with at most 15 significant digits and no exponent
// reads back from a double as written).
absl::Status CheckJsonSyntax(absl::string_view text, int max_depth,
                             bool* long_numbers = nullptr);

}  // namespace sheetsync::gateway

#endif  // SHEETSYNC_GATEWAY_JSON_SYNTAX_H_
