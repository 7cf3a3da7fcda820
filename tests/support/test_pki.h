// TestPki: a throwaway public key infrastructure for TLS tests, made with the
// `openssl` command in a directory of the test's: a CA, certificates it
// issued and, to be refused, a certificate of another CA. Keys are EC P-256,
// unencrypted; certificates are valid for two days.
//
//   absl::StatusOr<TestPki> pki = MakeTestPki(dir);
//   ASSERT_TRUE(pki.ok()) << pki.status();
//   options.tls_cert_file = pki->server.cert;
//
// Stateless and thread-safe (given distinct directories).
#ifndef SHEETSYNC_TESTS_SUPPORT_TEST_PKI_H_
#define SHEETSYNC_TESTS_SUPPORT_TEST_PKI_H_

#include <string>

#include "absl/status/statusor.h"

namespace sheetsync::test {

// PEM file paths of a certificate and its key.
struct CertFiles {
  std::string cert;
  std::string key;
};

struct TestPki {
  std::string ca;  // the CA's certificate
  CertFiles
      server;  // SAN IP:127.0.0.1 and DNS:localhost; server and client use
  CertFiles client;      // CN sheetsync-test-client; client use only
  std::string other_ca;  // a CA nobody trusts
  CertFiles other;       // issued by other_ca, with the server's SANs
};

// Makes the files in `dir` (which must exist). Internal with openssl's
// output when a command fails.
absl::StatusOr<TestPki> MakeTestPki(const std::string& dir);

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_SUPPORT_TEST_PKI_H_
