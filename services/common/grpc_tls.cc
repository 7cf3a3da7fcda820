#include "services/common/grpc_tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/status_macros.h"

namespace sheetsync {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Parses the first certificate of `pem` (read from `path`).
absl::StatusOr<std::unique_ptr<X509, X509Free>> ParseCert(
    const std::string& pem, const std::string& path) {
  auto bio = MemoryBio(pem);
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no PEM certificate"));
  }
  return cert;
}

// Checks that the files hold what they should, so that a mistake stops the
// process at start-up with a clear message rather than failing every
// handshake later.
absl::Status CheckPem(const GrpcTlsFiles& files, const std::string& cert_pem,
                      const std::string& key_pem, const std::string& ca_pem) {
  ASSIGN_OR_RETURN(auto cert, ParseCert(cert_pem, files.cert));
  RETURN_IF_ERROR(ParseCert(ca_pem, files.ca).status());
  auto bio = MemoryBio(key_pem);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(files.key, " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the key in ", files.key,
                     " does not match the certificate in ", files.cert));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GrpcTls> GrpcTls::Load(const GrpcTlsFiles& files) {
  const int set = !files.cert.empty() + !files.key.empty() + !files.ca.empty();
  if (set == 0 && files.server_name.empty()) return GrpcTls();
  if (set != 3) {
    return absl::InvalidArgumentError(
        "gRPC TLS needs all of --grpc_tls_cert, --grpc_tls_key and "
        "--grpc_tls_ca (or none of them, and no --grpc_tls_server_name, for "
        "plaintext)");
  }
  GrpcTls tls;
  ASSIGN_OR_RETURN(tls.cert_pem_, ReadFile(files.cert));
  ASSIGN_OR_RETURN(tls.key_pem_, ReadFile(files.key));
  ASSIGN_OR_RETURN(tls.ca_pem_, ReadFile(files.ca));
  RETURN_IF_ERROR(CheckPem(files, tls.cert_pem_, tls.key_pem_, tls.ca_pem_));
  tls.server_name_ = files.server_name;
  return tls;
}

std::shared_ptr<grpc::ServerCredentials> GrpcTls::ServerCredentials() const {
  if (!enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = ca_pem_;
  options.pem_key_cert_pairs.push_back({key_pem_, cert_pem_});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> GrpcTls::ChannelCredentials() const {
  if (!enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem_;
  options.pem_private_key = key_pem_;
  options.pem_cert_chain = cert_pem_;
  return grpc::SslCredentials(options);
}

void GrpcTls::SetTargetName(absl::string_view target,
                            grpc::ChannelArguments& args) const {
  if (!enabled()) return;
  std::string name = server_name_;
  if (name.empty() && absl::ConsumePrefix(&target, "ipv4:") &&
      absl::StrContains(target, ',')) {
    absl::string_view first = target.substr(0, target.find(','));
    name = std::string(first.substr(0, first.rfind(':')));
  }
  if (!name.empty()) args.SetSslTargetNameOverride(name);
}

}  // namespace sheetsync
