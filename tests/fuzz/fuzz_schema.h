// A fixed table schema for the fuzz targets: the demo table plus a few
// typed columns. Header-only.
#ifndef SHEETSYNC_TESTS_FUZZ_FUZZ_SCHEMA_H_
#define SHEETSYNC_TESTS_FUZZ_FUZZ_SCHEMA_H_

#include <string>

#include "sheetsync/v1/sync.pb.h"

namespace sheetsync::fuzz {

inline v1::Column MakeColumn(const std::string& name, const std::string& data_type,
                             const std::string& column_type, uint64_t max_chars = 0,
                             uint32_t precision = 0, uint32_t scale = 0) {
  v1::Column column;
  column.set_name(name);
  column.set_data_type(data_type);
  column.set_column_type(column_type);
  column.set_nullable(true);
  column.set_has_default(true);
  column.mutable_default_value()->set_is_null(true);
  column.set_max_chars(max_chars);
  column.set_max_bytes(max_chars * 4);
  column.set_numeric_precision(precision);
  column.set_numeric_scale(scale);
  column.set_is_unsigned(column_type.find("unsigned") != std::string::npos);
  return column;
}

inline v1::TableSchema FuzzSchema() {
  v1::TableSchema schema;
  schema.set_table("users");
  schema.set_key_column("uuid");
  *schema.add_columns() = MakeColumn("uuid", "char", "char(36)", 36);
  *schema.add_columns() = MakeColumn("name", "varchar", "varchar(255)", 255);
  *schema.add_columns() = MakeColumn("score", "int", "int(11)", 0, 10);
  *schema.add_columns() = MakeColumn("flag", "tinyint", "tinyint(1)", 0, 3);
  *schema.add_columns() = MakeColumn("big", "bigint", "bigint(20) unsigned", 0, 20);
  *schema.add_columns() = MakeColumn("price", "decimal", "decimal(10,2)", 0, 10, 2);
  *schema.add_columns() = MakeColumn("ratio", "double", "double", 0, 22);
  *schema.add_columns() = MakeColumn("day", "date", "date");
  *schema.add_columns() = MakeColumn("at", "datetime", "datetime(6)");
  *schema.add_columns() = MakeColumn("stamp", "timestamp", "timestamp(3)");
  *schema.add_columns() = MakeColumn("span", "time", "time");
  *schema.add_columns() = MakeColumn("yr", "year", "year(4)");
  *schema.add_columns() = MakeColumn("body", "text", "text", 65535);
  *schema.add_columns() = MakeColumn("doc", "json", "json", 0);
  v1::Column kind = MakeColumn("kind", "enum", "enum('a','b')");
  kind.add_enum_values("a");
  kind.add_enum_values("b");
  *schema.add_columns() = kind;
  return schema;
}

}  // namespace sheetsync::fuzz

#endif  // SHEETSYNC_TESTS_FUZZ_FUZZ_SCHEMA_H_
