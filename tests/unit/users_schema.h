// The table the unit tests plan and capture for.
#ifndef SHEETSYNC_TESTS_UNIT_USERS_SCHEMA_H_
#define SHEETSYNC_TESTS_UNIT_USERS_SCHEMA_H_

#include "sheetsync/v1/sync.pb.h"

namespace sheetsync::test {

// "users": a "uuid" key and a nullable "name".
inline v1::TableSchema UsersSchema() {
  v1::TableSchema schema;
  schema.set_table("users");
  schema.set_key_column("uuid");
  for (const char* name : {"uuid", "name"}) {
    v1::Column* column = schema.add_columns();
    column->set_name(name);
    column->set_nullable(true);
  }
  return schema;
}

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_UNIT_USERS_SCHEMA_H_
