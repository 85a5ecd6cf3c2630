#include "bpfsign/sign/pkcs7.hpp"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <optional>

#include "bpfsign/common/sha256.hpp"
#include "bpfsign/sign/openssl_handles.hpp"

namespace bpfsign::sign {

namespace {

Result<CmsPtr> parse_cms(Bytes signature) {
  if (signature.empty()) return bad_input("signature: empty");
  if (signature.size() > kMaxSignatureSize) {
    return bad_input("signature: {} bytes exceeds the {}-byte limit", signature.size(), kMaxSignatureSize);
  }
  const unsigned char* p = signature.data();
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(signature.size())));
  if (!cms) return openssl_error(ErrorKind::BadInput, "signature: not a DER PKCS#7/CMS structure");
  if (p != signature.data() + signature.size()) {
    return bad_input("signature: {} trailing bytes after the PKCS#7 structure", signature.data() + signature.size() - p);
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) return bad_input("signature: not a SignedData structure");
  if (CMS_is_detached(cms.get()) != 1) return bad_input("signature: content is embedded; the kernel expects detached content");
  return cms;
}

// Whether `der` ends with `value` encoded as a primitive DER OCTET STRING
// (tag 0x04, definite length): then its last value.size() bytes are the
// value itself and nothing else.
bool ends_with_octet_string(Bytes der, Bytes value) {
  std::vector<std::uint8_t> header{0x04};
  if (value.size() < 0x80) {
    header.push_back(static_cast<std::uint8_t>(value.size()));
  } else {
    std::vector<std::uint8_t> len;
    for (std::size_t n = value.size(); n != 0; n >>= 8) len.insert(len.begin(), static_cast<std::uint8_t>(n & 0xff));
    header.push_back(static_cast<std::uint8_t>(0x80 | len.size()));
    header.insert(header.end(), len.begin(), len.end());
  }
  if (der.size() < header.size() + value.size()) return false;
  const auto tail = der.last(header.size() + value.size());
  return std::equal(header.begin(), header.end(), tail.begin()) &&
         std::equal(value.begin(), value.end(), tail.begin() + static_cast<std::ptrdiff_t>(header.size()));
}

Error refused_by(const Certificate& signer) {
  return openssl_error(ErrorKind::BadInput, fmt::format("signature does not verify with the key of {}", signer.subject()));
}

}  // namespace

Result<std::vector<std::uint8_t>> sign_detached(const PrivateKey& key, const Certificate& cert, Bytes payload) {
  if (!cert.matches(key)) return bad_input("the private key does not belong to the certificate ({})", cert.subject());
  if (cert.subject_key_id().empty()) {
    return bad_input("certificate {} has no subjectKeyIdentifier: a kernel keyring could not find the key", cert.subject());
  }
  const unsigned flags = CMS_NOCERTS | CMS_PARTIAL | CMS_BINARY | CMS_DETACHED | CMS_STREAM;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) return openssl_error(ErrorKind::Internal, "CMS_sign");
  const unsigned signer_flags = CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_USE_KEYID | CMS_NOATTR;
  if (CMS_add1_signer(cms.get(), cert.get(), key.get(), EVP_sha256(), signer_flags) == nullptr) {
    return openssl_error(ErrorKind::BadInput, "adding the signer (" + key.describe() + ")");
  }
  BioPtr in(BIO_new_mem_buf(payload.data(), static_cast<int>(payload.size())));
  if (!in || CMS_final(cms.get(), in.get(), nullptr, CMS_NOCERTS | CMS_BINARY) != 1) {
    return openssl_error(ErrorKind::BadInput, "signing with " + key.describe());
  }
  unsigned char* der = nullptr;
  const int len = i2d_CMS_ContentInfo(cms.get(), &der);
  if (len <= 0) return openssl_error(ErrorKind::Internal, "encoding the signature");
  std::vector<std::uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

namespace {

SignatureShape shape_of(CMS_ContentInfo* cms) {
  SignatureShape shape;
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms);
  shape.signers = signers != nullptr ? static_cast<std::size_t>(sk_CMS_SignerInfo_num(signers)) : 0;
  STACK_OF(X509)* certs = CMS_get1_certs(cms);
  if (certs != nullptr) {
    shape.embedded_certificates = static_cast<std::size_t>(sk_X509_num(certs));
    sk_X509_pop_free(certs, X509_free);
  }
  if (shape.signers == 0) return shape;
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
  X509_ALGOR* digest = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest, nullptr);
  if (digest != nullptr) {
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, digest);
    shape.digest = OBJ_nid2sn(OBJ_obj2nid(oid));
  }
  shape.signed_attributes = CMS_signed_get_attr_count(si) > 0;
  ASN1_OCTET_STRING* keyid = nullptr;
  if (CMS_SignerInfo_get0_signer_id(si, &keyid, nullptr, nullptr) == 1 && keyid != nullptr) {
    const unsigned char* d = ASN1_STRING_get0_data(keyid);
    shape.signer_key_id.assign(d, d + ASN1_STRING_length(keyid));
  }
  ERR_clear_error();
  return shape;
}

// The kernel's rules on the signer's key: RSA of 2048 bits or more, or
// ECDSA on P-256 or P-384. They depend on the certificate alone.
Status key_rules(const Certificate& cert) {
  const EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) return bad_input("certificate {}: no usable public key", cert.subject());
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < 2048) return bad_input("certificate {}: RSA keys under 2048 bits are refused", cert.subject());
    return Ok{};
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    EVP_PKEY_get_group_name(key, group, sizeof group, &len);
    const std::string g(group, len);
    if (g == "prime256v1" || g == "secp384r1" || g == "P-256" || g == "P-384") return Ok{};
    return bad_input("certificate {}: ECDSA curve {} is not one the kernel's PKCS#7 code takes (P-256, P-384)", cert.subject(), g);
  }
  return bad_input("certificate {}: key type {} cannot sign BPF programs for the kernel", cert.subject(), cert.public_key_description());
}

// The kernel's rules on the signature's structure, for a signer whose
// certificate has `key_id` as its subjectKeyIdentifier.
Status shape_rules(CMS_ContentInfo* cms, const Certificate& cert, const std::vector<std::uint8_t>& key_id) {
  const SignatureShape shape = shape_of(cms);
  if (shape.signers != 1) return bad_input("signature: {} signers; the kernel takes exactly one", shape.signers);
  if (shape.digest != "SHA256") return bad_input("signature: digest {}; the kernel's BPF signatures use SHA-256", shape.digest);
  if (shape.signed_attributes) return bad_input("signature: carries signed attributes; the kernel expects none");
  if (shape.signer_key_id.empty()) return bad_input("signature: the signer is not named by subject key identifier");
  if (shape.signer_key_id != key_id) {
    return bad_input("signature: names key id {}, the certificate {} has {}", to_hex(shape.signer_key_id), cert.subject(), to_hex(key_id));
  }
  return Ok{};
}

Status kernel_rules(CMS_ContentInfo* cms, const Certificate& cert) {
  if (auto s = shape_rules(cms, cert, cert.subject_key_id()); !s) return s;
  return key_rules(cert);
}

// The signature value of a signature in the kernel's form: signedData,
// detached id-data content, one signer named as `signer`, SHA-256, no signed
// attributes, RSA or ECDSA matching the certificate's key. nullopt when the
// signature is not in that form (the caller then asks CMS_verify); an error
// when it names another signer.
std::optional<Result<Bytes>> kernel_form_value(CMS_ContentInfo* cms, const Certificate& signer) {
  if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) return std::nullopt;
  if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) return std::nullopt;
  ASN1_OCTET_STRING** content = CMS_get0_content(cms);
  if (content == nullptr || *content != nullptr) return std::nullopt;  // not detached
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms);
  if (signers == nullptr || sk_CMS_SignerInfo_num(signers) != 1) return std::nullopt;
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
  if (CMS_signed_get_attr_count(si) > 0) return std::nullopt;
  X509_ALGOR* digest_alg = nullptr;
  X509_ALGOR* signature_alg = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest_alg, &signature_alg);
  if (digest_alg == nullptr || signature_alg == nullptr) return std::nullopt;
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, digest_alg);
  if (OBJ_obj2nid(oid) != NID_sha256) return std::nullopt;
  X509_ALGOR_get0(&oid, nullptr, nullptr, signature_alg);
  const int sig_nid = OBJ_obj2nid(oid);
  EVP_PKEY* key = X509_get0_pubkey(signer.get());
  if (key == nullptr) return std::nullopt;
  const bool rsa = (sig_nid == NID_rsaEncryption || sig_nid == NID_sha256WithRSAEncryption) && EVP_PKEY_is_a(key, "RSA");
  const bool ecdsa = (sig_nid == NID_X9_62_id_ecPublicKey || sig_nid == NID_ecdsa_with_SHA256) && EVP_PKEY_is_a(key, "EC");
  if (!rsa && !ecdsa) return std::nullopt;
  const ASN1_OCTET_STRING* sig = CMS_SignerInfo_get0_signature(si);
  if (CMS_SignerInfo_cert_cmp(si, signer.get()) != 0 || sig == nullptr) return Result<Bytes>(refused_by(signer));
  return Result<Bytes>(Bytes(ASN1_STRING_get0_data(sig), static_cast<std::size_t>(ASN1_STRING_length(sig))));
}

// A kernel-form signature value checked as the kernel and OpenSSL's own CMS
// code check it when there are no signed attributes: the signer's signature
// over SHA-256 of the content, with the certificate's key. Taking the digest
// in one pass (not through CMS_verify's 4 KiB BIO reads) is what lets
// verification run at the speed of the cryptography.
Status verify_value(Bytes value, std::span<const Bytes> payload, const Certificate& signer, const Sha256* payload_hash,
                    EVP_PKEY_CTX** cache) {
  EVP_PKEY* key = X509_get0_pubkey(signer.get());
  if (key == nullptr) return refused_by(signer);
  const Sha256 digest = payload_hash != nullptr ? *payload_hash : sha256(payload);
  // One set-up per signer serves all its signatures (the key, and so RSA
  // or ECDSA, and SHA-256 are the same for each).
  EVP_PKEY_CTX* ctx = cache != nullptr ? *cache : nullptr;
  PkeyCtxPtr owned;
  if (ctx == nullptr) {
    owned.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!owned || EVP_PKEY_verify_init(owned.get()) != 1 || EVP_PKEY_CTX_set_signature_md(owned.get(), EVP_sha256()) != 1 ||
        (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_CTX_set_rsa_padding(owned.get(), RSA_PKCS1_PADDING) != 1)) {
      return openssl_error(ErrorKind::Internal, "setting up signature verification");
    }
    ctx = owned.get();
    if (cache != nullptr) *cache = owned.release();
  }
  if (EVP_PKEY_verify(ctx, value.data(), value.size(), digest.data(), digest.size()) != 1) return refused_by(signer);
  return Ok{};
}

// Any other signature: OpenSSL's CMS_verify decides.
Status verify_with_cms(CMS_ContentInfo* cms, std::span<const Bytes> parts, const Certificate& signer) {
  std::vector<std::uint8_t> joined;
  for (Bytes part : parts) joined.insert(joined.end(), part.begin(), part.end());
  const Bytes payload = parts.size() == 1 ? parts[0] : Bytes(joined);
  X509StackPtr certs(sk_X509_new_null());
  if (!certs || sk_X509_push(certs.get(), signer.get()) <= 0) return openssl_error(ErrorKind::Internal, "certificate stack");
  // The payload is handed over behind a buffering filter, not as a bare
  // memory BIO: for a memory BIO, OpenSSL 3.0's CMS_verify makes its own
  // copy and leaks it when the signature's structure is refused later
  // (found by fuzz_bundle; fuzz/regressions/fuzz_bundle holds the input).
  BioPtr memory(BIO_new_mem_buf(payload.data(), static_cast<int>(payload.size())));
  if (!memory) return openssl_error(ErrorKind::Internal, "BIO_new_mem_buf");
  BioPtr content(BIO_new(BIO_f_buffer()));
  if (!content) return openssl_error(ErrorKind::Internal, "BIO_new(BIO_f_buffer)");
  BIO_push(content.get(), memory.release());  // `content` now owns the chain
  // The certificate is checked separately (verify_issued_by); here only the
  // signature over the payload, with exactly this certificate's key.
  const unsigned flags = CMS_BINARY | CMS_DETACHED | CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN;
  if (CMS_verify(cms, certs.get(), nullptr, content.get(), nullptr, flags) != 1) return refused_by(signer);
  return Ok{};
}

Status verify_parsed(CMS_ContentInfo* cms, std::span<const Bytes> parts, const Certificate& signer) {
  if (auto value = kernel_form_value(cms, signer)) {
    if (!*value) return value->error();
    return verify_value(**value, parts, signer, nullptr, nullptr);
  }
  return verify_with_cms(cms, parts, signer);
}

}  // namespace

Result<SignatureShape> read_signature_shape(Bytes signature) {
  auto cms = parse_cms(signature);
  if (!cms) return cms.error();
  return shape_of(cms->get());
}

Status check_kernel_rules(Bytes signature, const Certificate& cert) {
  auto cms = parse_cms(signature);
  if (!cms) return cms.error();
  return kernel_rules(cms->get(), cert);
}

Status verify_detached(Bytes signature, Bytes payload, const Certificate& signer) {
  auto cms = parse_cms(signature);
  if (!cms) return cms.error();
  return verify_parsed(cms->get(), std::span<const Bytes>(&payload, 1), signer);
}

SignatureVerifier::SignatureVerifier(const Certificate& signer)
    : signer_(signer), key_id_(signer.subject_key_id()), key_rules_(key_rules(signer)) {}

SignatureVerifier::~SignatureVerifier() { EVP_PKEY_CTX_free(ctx_); }

SignatureCheck SignatureVerifier::check(Bytes signature, std::span<const Bytes> payload, const Sha256* payload_hash) {
  if (!first_.empty() && signature.size() == first_.size() &&
      std::equal(signature.begin(), signature.end() - static_cast<std::ptrdiff_t>(first_value_size_), first_.begin())) {
    return {first_rules_, verify_value(signature.last(first_value_size_), payload, signer_, payload_hash, &ctx_)};
  }
  auto cms = parse_cms(signature);
  if (!cms) return {cms.error(), cms.error()};
  Status rules = shape_rules(cms->get(), signer_, key_id_);
  if (rules.ok()) rules = key_rules_;
  auto value = kernel_form_value(cms->get(), signer_);
  if (!value) return {std::move(rules), verify_with_cms(cms->get(), payload, signer_)};
  if (!*value) return {std::move(rules), value->error()};
  const Bytes v = **value;
  // When the DER ends with the value as a primitive OCTET STRING (nothing,
  // such as unsigned attributes, after it), this signature can stand for
  // the next ones.
  if (first_.empty() && ends_with_octet_string(signature, v)) {
    first_.assign(signature.begin(), signature.end());
    first_value_size_ = v.size();
    first_rules_ = rules;
  }
  return {std::move(rules), verify_value(v, payload, signer_, payload_hash, &ctx_)};
}

Status verify_issued_by(const Certificate& cert, const std::vector<Certificate>& trusted) {
  X509StorePtr store(X509_STORE_new());
  if (!store) return openssl_error(ErrorKind::Internal, "X509_STORE_new");
  for (const auto& t : trusted) {
    if (X509_STORE_add_cert(store.get(), t.get()) != 1) return openssl_error(ErrorKind::Internal, "adding a trusted certificate");
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return openssl_error(ErrorKind::Internal, "X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_ANY);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return bad_input("certificate {} does not chain to the given CA: {}", cert.subject(), X509_verify_cert_error_string(err));
  }
  if ((X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE) == 0) {
    return bad_input("certificate {}: keyUsage lacks digitalSignature", cert.subject());
  }
  return Ok{};
}

}  // namespace bpfsign::sign
