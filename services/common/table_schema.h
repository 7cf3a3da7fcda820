// Look-ups in a discovered table schema. Pure; thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_TABLE_SCHEMA_H_
#define SHEETSYNC_SERVICES_COMMON_TABLE_SCHEMA_H_

#include <string>

#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

// Returns the column named `name`, or nullptr.
const v1::Column* FindColumn(const v1::TableSchema& schema,
                             const std::string& name);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_TABLE_SCHEMA_H_
