// The --grpc_tls_* flags, shared by every binary that serves or calls gRPC
// (so that no main() copies them). Call after InitProcess(), which also sets
// them from SHEETSYNC_GRPC_TLS_* environment variables.
#ifndef SHEETSYNC_SERVICES_COMMON_GRPC_TLS_FLAGS_H_
#define SHEETSYNC_SERVICES_COMMON_GRPC_TLS_FLAGS_H_

#include "services/common/grpc_tls.h"

namespace sheetsync {

// Returns the gRPC transport security the flags ask for (plaintext when none
// is set). Exits the process with a clear message on bad configuration.
GrpcTls GrpcTlsFromFlags();

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_GRPC_TLS_FLAGS_H_
