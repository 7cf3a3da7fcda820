#include "services/common/table_schema.h"

namespace sheetsync {

const v1::Column* FindColumn(const v1::TableSchema& schema,
                             const std::string& name) {
  for (const v1::Column& column : schema.columns()) {
    if (column.name() == name) return &column;
  }
  return nullptr;
}

}  // namespace sheetsync
