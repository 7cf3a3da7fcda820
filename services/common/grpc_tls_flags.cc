#include "services/common/grpc_tls_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "services/common/process.h"

ABSL_FLAG(std::string, grpc_tls_cert, "",
          "PEM certificate this process presents as gRPC server and client; "
          "with --grpc_tls_key and --grpc_tls_ca turns on mutual TLS");
ABSL_FLAG(std::string, grpc_tls_key, "", "PEM private key of --grpc_tls_cert");
ABSL_FLAG(std::string, grpc_tls_ca, "",
          "PEM CA certificate(s) that every gRPC peer's certificate must chain "
          "to");
ABSL_FLAG(std::string, grpc_tls_server_name, "",
          "Name checked in gRPC servers' certificates (default: the host "
          "dialled)");

namespace sheetsync {

GrpcTls GrpcTlsFromFlags() {
  GrpcTlsFiles files;
  files.cert = absl::GetFlag(FLAGS_grpc_tls_cert);
  files.key = absl::GetFlag(FLAGS_grpc_tls_key);
  files.ca = absl::GetFlag(FLAGS_grpc_tls_ca);
  files.server_name = absl::GetFlag(FLAGS_grpc_tls_server_name);
  absl::StatusOr<GrpcTls> tls = GrpcTls::Load(files);
  if (!tls.ok()) DieOnBadConfig(tls.status().message());
  LogInfo(tls->enabled() ? "gRPC: mutual TLS" : "gRPC: plaintext");
  return *std::move(tls);
}

}  // namespace sheetsync
