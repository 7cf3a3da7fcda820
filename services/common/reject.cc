#include "services/common/reject.h"

#include <string>

#include "absl/strings/cord.h"

namespace sheetsync {

absl::Status Reject(absl::string_view code, absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kRejectCodeTypeUrl, absl::Cord(code));
  return status;
}

std::string RejectCode(const absl::Status& status) {
  const auto code = status.GetPayload(kRejectCodeTypeUrl);
  if (!code.has_value() || code->empty())
    return std::string(kDefaultRejectCode);
  return std::string(*code);
}

}  // namespace sheetsync
