#include "gateway/query.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/utf8.h"

namespace sheetsync::gateway {
namespace {

constexpr absl::string_view kCursorPrefix = "c1.";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(absl::string_view text,
                                          bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (plus_is_space && text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] != '%') {
      out.push_back(text[i]);
    } else if (i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
               HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 +
                                      HexDigit(text[i + 2])));
      i += 2;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad %-escape in \"", absl::CHexEscape(text), "\"; write % as %25"));
    }
  }
  if (!IsValidUtf8(out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(text),
                     "\" is not UTF-8 once %-decoded; percent-encode UTF-8"));
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> ParseQuery(
    absl::string_view query) {
  std::map<std::string, std::string> params;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> name = PercentDecode(kv.first, true);
    absl::StatusOr<std::string> value = PercentDecode(kv.second, true);
    if (!name.ok()) return name.status();
    if (!value.ok()) return value.status();
    params.emplace(*std::move(name), *std::move(value));
  }
  return params;
}

std::string EncodeCursor(int64_t seq) {
  return absl::StrCat(kCursorPrefix, absl::WebSafeBase64Escape(absl::StrCat(seq)));
}

absl::StatusOr<int64_t> DecodeCursor(absl::string_view cursor) {
  if (cursor.empty()) return 0;
  std::string digits;
  int64_t seq = 0;
  if (!absl::ConsumePrefix(&cursor, kCursorPrefix) ||
      !absl::WebSafeBase64Unescape(cursor, &digits) ||
      !absl::SimpleAtoi(digits, &seq) || seq < 0) {
    return absl::InvalidArgumentError(
        "`since` is not a cursor this server handed out; use next_cursor");
  }
  return seq;
}

absl::StatusOr<int> ParseLimit(const std::map<std::string, std::string>& params,
                               int fallback, int max) {
  auto it = params.find("limit");
  if (it == params.end() || it->second.empty()) return fallback;
  // Digits alone, and any number of them: one too big for an int is past
  // `max` as well.
  const std::string& text = it->second;
  const size_t first = text.find_first_not_of('0');
  if (!std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
      first == std::string::npos) {
    return absl::InvalidArgumentError("`limit` must be a positive integer");
  }
  int limit = 0;
  if (text.size() - first > 9 || !absl::SimpleAtoi(text.substr(first), &limit))
    return max;
  return std::min(limit, max);
}

}  // namespace sheetsync::gateway
