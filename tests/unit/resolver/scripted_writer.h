// What the resolver's unit tests share: the table they plan for and a way to
// serve a scripted writer to it over an in-process gRPC channel.
#ifndef SHEETSYNC_TESTS_UNIT_RESOLVER_SCRIPTED_WRITER_H_
#define SHEETSYNC_TESTS_UNIT_RESOLVER_SCRIPTED_WRITER_H_

#include <memory>

#include "grpcpp/grpcpp.h"
#include "sheetsync/v1/sync.grpc.pb.h"
#include "tests/unit/users_schema.h"

namespace sheetsync::test {

// Serves `service` for in-process channels only.
inline std::unique_ptr<grpc::Server> ServeInProcess(grpc::Service& service) {
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  return builder.BuildAndStart();
}

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_UNIT_RESOLVER_SCRIPTED_WRITER_H_
