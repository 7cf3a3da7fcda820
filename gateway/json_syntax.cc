#include "gateway/json_syntax.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/utf8.h"

namespace sheetsync::gateway {
namespace {

// A recursive-descent reader over the text; nesting is bounded by
// max_depth, so the recursion is too.
class Reader {
 public:
  Reader(absl::string_view text, int max_depth)
      : text_(text), max_depth_(max_depth) {}

  absl::Status Document() {
    SkipSpace();
    if (!Value(0)) return error_;
    SkipSpace();
    if (pos_ != text_.size()) Fail("unexpected text after the JSON value");
    return error_;
  }
  // Whether a number read has more than 15 digits or an exponent.
  bool long_numbers() const { return long_numbers_; }

 private:
  bool Fail(absl::string_view what) {
    if (error_.ok()) {
      error_ = absl::InvalidArgumentError(
          absl::StrCat("the body is not JSON: ", what, " at byte ", pos_));
    }
    return false;
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' ||
                        Peek() == '\r')) {
      ++pos_;
    }
  }
  bool Expect(char c) {
    SkipSpace();
    if (Peek() != c)
      return Fail(absl::StrCat("expected '", std::string(1, c), "'"));
    ++pos_;
    return true;
  }

  bool Value(int depth) {
    if (AtEnd()) return Fail("unexpected end");
    switch (Peek()) {
      case '{':
        return Container(depth + 1, /*object=*/true);
      case '[':
        return Container(depth + 1, /*object=*/false);
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  // Reads an object or an array, whose '{' or '[' is next.
  bool Container(int depth, bool object) {
    if (depth > max_depth_) return Fail("nested too deep");
    const char close = object ? '}' : ']';
    ++pos_;
    SkipSpace();
    if (Peek() == close) return ++pos_, true;
    for (;;) {
      SkipSpace();
      if (object) {
        if (Peek() != '"') return Fail("expected a name in double quotes");
        if (!String() || !Expect(':')) return false;
        SkipSpace();
      }
      if (!Value(depth)) return false;
      SkipSpace();
      if (Peek() == close) return ++pos_, true;
      if (Peek() != ',') {
        return Fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
      }
      ++pos_;
    }
  }

  bool Literal(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word)
      return Fail("unexpected character");
    pos_ += word.size();
    return true;
  }

  // Consumes a run of digits; false when there is none.
  bool Digits() {
    const size_t start = pos_;
    while (absl::ascii_isdigit(Peek())) ++pos_;
    return pos_ > start;
  }

  bool Number() {
    if (Peek() == '-') ++pos_;
    const size_t start = pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (!absl::ascii_isdigit(Peek()) || !Digits()) {
      return Fail("unexpected character");
    }
    size_t digits = pos_ - start;
    if (Peek() == '.') {
      ++pos_;
      const size_t fraction = pos_;
      if (!Digits()) return Fail("expected digits after '.'");
      digits += pos_ - fraction;
    }
    if (digits > 15) long_numbers_ = true;
    if (Peek() == 'e' || Peek() == 'E') {
      long_numbers_ = true;
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!Digits()) return Fail("expected digits in the exponent");
    }
    return true;
  }

  // Reads the 4 hex digits of a \u escape.
  bool Hex4(int* out) {
    *out = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = Peek();
      if (!absl::ascii_isxdigit(c))
        return Fail("expected 4 hex digits after \\u");
      *out = *out * 16 +
             (absl::ascii_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return true;
  }

  bool Escape() {
    ++pos_;  // '\\'
    const char c = Peek();
    if (c != 'u') {
      if (absl::string_view("\"\\/bfnrt").find(c) == absl::string_view::npos) {
        return Fail("unknown escape in a string");
      }
      ++pos_;
      return true;
    }
    ++pos_;
    int unit = 0;
    if (!Hex4(&unit)) return false;
    if (unit >= 0xDC00 && unit <= 0xDFFF)
      return Fail("lone low surrogate escape");
    if (unit < 0xD800 || unit > 0xDBFF) return true;
    int low = 0;
    if (text_.substr(pos_, 2) != "\\u" || (pos_ += 2, !Hex4(&low)) ||
        low < 0xDC00 || low > 0xDFFF) {
      return Fail("lone high surrogate escape");
    }
    return true;
  }

  bool String() {
    ++pos_;  // '"'
    for (;;) {
      if (AtEnd()) return Fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(Peek());
      if (c == '"') return ++pos_, true;
      if (c == '\\') {
        if (!Escape()) return false;
      } else if (c < 0x20) {
        return Fail("control character in a string (escape it as \\u00XX)");
      } else {
        const size_t n = Utf8SequenceLength(text_.substr(pos_));
        if (n == 0) return Fail("invalid UTF-8");
        pos_ += n;
      }
    }
  }

  const absl::string_view text_;
  const int max_depth_;
  size_t pos_ = 0;
  absl::Status error_;
  bool long_numbers_ = false;
};

}  // namespace

absl::Status CheckJsonSyntax(absl::string_view text, int max_depth,
                             bool* long_numbers) {
  Reader reader(text, max_depth);
  absl::Status status = reader.Document();
  if (long_numbers != nullptr) *long_numbers = reader.long_numbers();
  return status;
}

}  // namespace sheetsync::gateway
