// Transport security of every gRPC server and channel: mutual TLS with
// certificates read from PEM files once, at start-up, or plaintext (the
// default). A GrpcTls is immutable once made and thread-safe.
//
//   absl::StatusOr<GrpcTls> tls = GrpcTls::Load({cert, key, ca});
//   GrpcServer::Start(listen, services, *tls);   // peers must present a
//   MakeChannel(addresses, *tls);                // certificate of the CA
#ifndef SHEETSYNC_SERVICES_COMMON_GRPC_TLS_H_
#define SHEETSYNC_SERVICES_COMMON_GRPC_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace sheetsync {

// PEM file paths. All of cert, key and ca set: mutual TLS; none set:
// plaintext.
struct GrpcTlsFiles {
  std::string cert;  // this process's certificate (chain), as server and client
  std::string key;   // its private key
  std::string ca;    // the CA certificate(s) every peer's certificate chains to
  // The name servers' certificates are checked against; empty: the host of
  // the address dialled (an IP literal is checked against IP SANs).
  std::string server_name;
};

class GrpcTls {
 public:
  // Plaintext.
  GrpcTls() = default;

  // Reads and checks the files (the key must match the certificate).
  // InvalidArgument when only some of cert, key and ca are set, or
  // server_name is set without them, or a file is not the PEM it should be;
  // NotFound when a file cannot be read.
  static absl::StatusOr<GrpcTls> Load(const GrpcTlsFiles& files);

  bool enabled() const { return !ca_pem_.empty(); }

  // Returns credentials that, with TLS, require and verify a client
  // certificate issued by the CA.
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  // Returns credentials that verify the server against the CA and present
  // this process's certificate.
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  // Sets the name to verify in servers' certificates on `args` for a channel
  // to `target` (an "ipv4:a:p,b:p" list has no single host of its own: the
  // first one's is used). Does nothing without TLS.
  void SetTargetName(absl::string_view target,
                     grpc::ChannelArguments& args) const;

 private:
  std::string cert_pem_;
  std::string key_pem_;
  std::string ca_pem_;
  std::string server_name_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_GRPC_TLS_H_
