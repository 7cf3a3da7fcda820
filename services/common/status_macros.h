// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status, which Debian's Abseil
// (20220623) does not provide yet. Header-only; no state.
#ifndef SHEETSYNC_SERVICES_COMMON_STATUS_MACROS_H_
#define SHEETSYNC_SERVICES_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SHEETSYNC_CONCAT_INNER_(a, b) a##b
#define SHEETSYNC_CONCAT_(a, b) SHEETSYNC_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                       \
  do {                                              \
    const ::absl::Status sheetsync_status_ = (expr); \
    if (!sheetsync_status_.ok()) return sheetsync_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK,
// else moves the value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  SHEETSYNC_ASSIGN_OR_RETURN_IMPL_(SHEETSYNC_CONCAT_(statusor_, __LINE__), lhs, rexpr)

#define SHEETSYNC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                     \
  if (!statusor.ok()) return std::move(statusor).status();     \
  lhs = std::move(statusor).value()

#endif  // SHEETSYNC_SERVICES_COMMON_STATUS_MACROS_H_
