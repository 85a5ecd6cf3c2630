// The PKCS#7 (CMS SignedData) signatures kernels check on BPF_PROG_LOAD
// (docs/kernels.md): DER, detached content, SHA-256, no signed attributes,
// no certificates inside, the signer named by its subject key identifier.
// bpfsign accepts exactly the one form sign_detached writes (pkcs7.cpp
// spells it out), in canonical DER.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/sign/keys.hpp"

struct evp_pkey_ctx_st;

namespace bpfsign::sign {

// bpfsign's own ceiling on a signature's size: far above what it makes
// (RSA-4096 gives ~560 bytes) and a bound for anything read from a bundle.
inline constexpr std::size_t kMaxSignatureSize = 64 * 1024;

Result<std::vector<std::uint8_t>> sign_detached(const PrivateKey& key, const Certificate& cert, Bytes payload);

// What a signature says about itself, read without trusting it.
struct SignatureShape {
  std::size_t signers = 0;
  std::string digest;               // "SHA256"
  bool signed_attributes = false;
  std::size_t embedded_certificates = 0;
  std::vector<std::uint8_t> signer_key_id;  // empty if named by issuer and serial
};
Result<SignatureShape> read_signature_shape(Bytes signature);

// The signature's form: exactly what sign_detached writes for `cert`'s key
// (signedData version 3, digestAlgorithms SHA-256 only, detached id-data,
// no certificates or CRLs, one SignerInfo version 3 naming `cert`'s
// subjectKeyIdentifier, SHA-256, no attributes, rsaEncryption or
// ecdsa-with-SHA256), in canonical DER, within kMaxSignatureSize; and a key
// the kernel's PKCS#7 code takes (RSA ≥ 2048 bits, ECDSA P-256/P-384).
// A refusal names the first field that differs.
Status check_kernel_rules(Bytes signature, const Certificate& cert);

// Verifies `signature` over `payload` with the public key of `signer`
// (which must carry the key id the signature names). A signature not in
// the canonical form is checked by OpenSSL's CMS_verify, so that this says
// whether it is valid at all; check_kernel_rules refuses it.
Status verify_detached(Bytes signature, Bytes payload, const Certificate& signer);

// Both of the above on one parse of the signature, as a verifier wants them.
struct SignatureCheck {
  Status form;       // check_kernel_rules
  Status signature;  // verify_detached
};

// Checks several signatures by one signer, each parsed and checked in
// full on its own, setting the key's verification up once (OpenSSL 3 looks the algorithm up in its providers for every new
// context, a cost that shows on small bundles). The payload may come in
// parts (signed as their concatenation), so that a verifier need not join
// instructions and metadata first; `payload_hash`, when given, is the
// payload's SHA-256, already computed.
class SignatureVerifier {
 public:
  explicit SignatureVerifier(const Certificate& signer);
  ~SignatureVerifier();
  SignatureVerifier(const SignatureVerifier&) = delete;
  SignatureVerifier& operator=(const SignatureVerifier&) = delete;
  SignatureCheck check(Bytes signature, std::span<const Bytes> payload, const Sha256* payload_hash = nullptr);

 private:
  const Certificate& signer_;
  std::vector<std::uint8_t> key_id_;  // the certificate's subjectKeyIdentifier
  Status key_rules_;                  // the kernel's rules on the key: the certificate's alone
  struct FreeContext {
    void operator()(evp_pkey_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_pkey_ctx_st, FreeContext> ctx_;  // set up for EVP_PKEY_verify on first use
};


}  // namespace bpfsign::sign
