#include "tests/support/test_pki.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"
#include "tests/support/process.h"

namespace sheetsync::test {
namespace {

// The sections `ca`, `leaf` and `client` hold each kind's extensions.
constexpr char kConfig[] = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
)";

class Openssl {
 public:
  explicit Openssl(std::string dir)
      : dir_(std::move(dir)),
        config_(dir_ + "/pki.cnf"),
        log_(dir_ + "/openssl.log") {}

  absl::Status WriteConfig() const {
    std::ofstream out(config_);
    out << kConfig;
    out.close();
    if (!out) return absl::InternalError("cannot write " + config_);
    return absl::OkStatus();
  }

  // Makes a self-signed CA; returns its certificate's path.
  absl::StatusOr<std::string> MakeCa(const std::string& name) {
    const std::string cert = Path(name, "pem");
    RETURN_IF_ERROR(
        Run({"req", "-x509", "-config", config_, "-extensions", "ca", "-newkey",
             "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", Path(name, "key"), "-out", cert, "-days", "2", "-subj",
             "/CN=" + name}));
    return cert;
  }

  // Makes a key and a certificate with `extensions`, issued by CA `ca`.
  absl::StatusOr<CertFiles> Issue(const std::string& ca,
                                  const std::string& name,
                                  const std::string& extensions) {
    CertFiles files{Path(name, "pem"), Path(name, "key")};
    RETURN_IF_ERROR(
        Run({"req", "-new", "-config", config_, "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.key,
             "-out", Path(name, "csr"), "-subj", "/CN=" + name}));
    RETURN_IF_ERROR(
        Run({"x509", "-req", "-in", Path(name, "csr"), "-CA", Path(ca, "pem"),
             "-CAkey", Path(ca, "key"), "-set_serial", absl::StrCat(++serial_),
             "-days", "2", "-extfile", config_, "-extensions", extensions,
             "-out", files.cert}));
    return files;
  }

 private:
  std::string Path(const std::string& name, const std::string& ext) const {
    return absl::StrCat(dir_, "/", name, ".", ext);
  }

  absl::Status Run(const std::vector<std::string>& args) {
    ChildProcess openssl;
    RETURN_IF_ERROR(openssl.Start("openssl", args, {}, log_));
    ASSIGN_OR_RETURN(ExitStatus exit, openssl.Wait(absl::Seconds(30)));
    if (exit.Exited() && exit.ExitCode() == 0) return absl::OkStatus();
    std::ifstream in(log_);
    std::stringstream output;
    output << in.rdbuf();
    return absl::InternalError(absl::StrCat(
        "openssl ", args[0], ": ", exit.ToString(), "\n", output.str()));
  }

  const std::string dir_;
  const std::string config_;
  const std::string log_;
  int serial_ = 1000;
};

}  // namespace

absl::StatusOr<TestPki> MakeTestPki(const std::string& dir) {
  Openssl openssl(dir);
  RETURN_IF_ERROR(openssl.WriteConfig());
  TestPki pki;
  ASSIGN_OR_RETURN(pki.ca, openssl.MakeCa("sheetsync-test-ca"));
  ASSIGN_OR_RETURN(pki.server,
                   openssl.Issue("sheetsync-test-ca", "server", "leaf"));
  ASSIGN_OR_RETURN(pki.client,
                   openssl.Issue("sheetsync-test-ca", "client", "client"));
  ASSIGN_OR_RETURN(pki.other_ca, openssl.MakeCa("other-ca"));
  ASSIGN_OR_RETURN(pki.other, openssl.Issue("other-ca", "other", "leaf"));
  return pki;
}

}  // namespace sheetsync::test
