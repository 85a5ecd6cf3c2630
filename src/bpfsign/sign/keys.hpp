// Signing keys and X.509 certificates. Private keys live only inside
// OpenSSL objects: they are loaded from a PEM file or a PKCS#11 token and
// never copied into our own buffers, and nothing here logs key material.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/common/file_io.hpp"

struct evp_pkey_st;
struct x509_st;

namespace bpfsign::sign {

enum class KeyAlgorithm { Rsa2048, Rsa3072, Rsa4096, EcdsaP256, EcdsaP384 };
inline constexpr KeyAlgorithm kAllKeyAlgorithms[] = {KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa3072, KeyAlgorithm::Rsa4096,
                                                     KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384};
const char* key_algorithm_name(KeyAlgorithm algorithm);
Result<KeyAlgorithm> parse_key_algorithm(const std::string& name);  // "rsa2048", …, "p256", "p384"

class PrivateKey {
 public:
  // A PEM file, or a PKCS#11 URI ("pkcs11:token=…;object=…") served by
  // OpenSSL's pkcs11 engine; `pkcs11_module` names the token's module
  // (SoftHSM2's, a smart card's); empty means the engine's default.
  static Result<PrivateKey> load(const std::string& path_or_uri, const std::string& pkcs11_module = {},
                                 const std::string& pin = {});
  static Result<PrivateKey> generate(KeyAlgorithm algorithm);

  // PKCS#8 PEM, written with mode 0600 through a temporary file.
  Status write_pem(const std::filesystem::path& path) const;  // replaces a file at `path`
  Result<StagedFile> stage_pem(const std::filesystem::path& path) const;  // written, not yet in place
  std::string describe() const;  // "RSA 2048-bit", "ECDSA P-256"

  evp_pkey_st* get() const { return key_.get(); }

 private:
  std::shared_ptr<evp_pkey_st> key_;
};

class Certificate {
 public:
  static Result<Certificate> load(const std::filesystem::path& path);  // PEM or DER; the first of a PEM file
  // Every certificate of a PEM file (several trust anchors, a chain), or
  // the one of a DER file.
  static Result<std::vector<Certificate>> load_all(const std::filesystem::path& path);
  static Result<Certificate> from_der(Bytes der, const std::string& what);

  const std::vector<std::uint8_t>& der() const;  // as read (kept: comparing certificates need not re-encode)
  Status write_pem(const std::filesystem::path& path) const;  // replaces a file at `path`
  Result<StagedFile> stage_pem(const std::filesystem::path& path) const;  // written, not yet in place
  // The subjectKeyIdentifier extension: how the kernel finds the key.
  std::vector<std::uint8_t> subject_key_id() const;
  std::string subject() const;
  std::string issuer() const;
  std::string public_key_description() const;
  bool matches(const PrivateKey& key) const;

  x509_st* get() const { return cert_.get(); }

 private:
  std::shared_ptr<x509_st> cert_;
  std::shared_ptr<const std::vector<std::uint8_t>> der_;
};

struct CertificateRequest {
  std::string common_name = "bpfsign signing key";
  unsigned days = 365;       // validity, from notBefore
  long not_before_days = 0;  // notBefore relative to now (tests make expired and future certificates)
  bool is_ca = false;
  // keyUsage: empty for the usual ("digitalSignature", with "keyCertSign"
  // for a CA), "-" for none at all; extendedKeyUsage: empty for none.
  std::string key_usage;
  std::string extended_key_usage;
  // Who signs it: none for a self-signed certificate; else the issuer's
  // key and certificate, which outlive the request.
  struct Issuer {
    const PrivateKey& key;
    const Certificate& cert;
  };
  std::optional<Issuer> issuer;
};

// A certificate a kernel keyring takes as an "asymmetric" key: X.509 v3
// with subjectKeyIdentifier, authorityKeyIdentifier, basicConstraints and
// keyUsage digitalSignature (keyCertSign too for a CA); SHA-256 signature.
Result<Certificate> make_certificate(const PrivateKey& key, const CertificateRequest& request);

}  // namespace bpfsign::sign
