#include "services/resolver/read_policy.h"

#include "absl/strings/str_cat.h"

namespace sheetsync {
namespace {

constexpr double kWeight = 1.0 / 16;  // of the newest batch in the average
constexpr unsigned kProbeEvery = 16;  // batches between tries while reading

}  // namespace

absl::StatusOr<ReadPolicy::Mode> ReadPolicy::ParseMode(const std::string& text) {
  if (text == "auto") return Mode::kAuto;
  if (text == "always") return Mode::kAlways;
  if (text == "never") return Mode::kNever;
  return absl::InvalidArgumentError(
      absl::StrCat("read mode must be auto, always or never, not \"", text, "\""));
}

bool ReadPolicy::ReadFirst(const std::string& table) {
  if (mode_ != Mode::kAuto) return mode_ == Mode::kAlways;
  absl::MutexLock lock(&mu_);
  Stats& stats = tables_[table];
  if (stats.committed_rate >= 0.5 || ++stats.skipped >= kProbeEvery) {
    stats.skipped = 0;
    return false;
  }
  return true;
}

void ReadPolicy::Record(const std::string& table, bool committed) {
  if (mode_ != Mode::kAuto) return;
  absl::MutexLock lock(&mu_);
  Stats& stats = tables_[table];
  stats.committed_rate += kWeight * ((committed ? 1.0 : 0.0) - stats.committed_rate);
}

}  // namespace sheetsync
