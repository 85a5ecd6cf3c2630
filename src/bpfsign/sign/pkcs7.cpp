#include "bpfsign/sign/pkcs7.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <optional>

#include "bpfsign/common/sha256.hpp"
#include "bpfsign/sign/openssl_handles.hpp"

namespace bpfsign::sign {

namespace {

// The DER bytes as OpenSSL reads them. Which structure they hold is the
// form check's business (canonical_signature_value).
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
  return cms;
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

// --- The one form bpfsign writes and kernels accept -------------------------
//
// sign_detached writes, and nothing else is accepted (RFC 5652 names):
//
//   ContentInfo { contentType signedData, content [0] SignedData {
//     version 3,
//     digestAlgorithms { { sha256 } },             (no parameters)
//     encapContentInfo { eContentType id-data },   (no eContent: detached)
//                                                   (no certificates, no crls)
//     signerInfos { SignerInfo {
//       version 3,
//       sid [0] subjectKeyIdentifier,
//       digestAlgorithm { sha256 },                 (no parameters)
//                                                   (no signedAttrs)
//       signatureAlgorithm { rsaEncryption, NULL } for an RSA key,
//                          { ecdsa-with-SHA256 }   for an EC key,
//       signature OCTET STRING } } } }              (no unsignedAttrs)
//
// in DER, byte for byte what OpenSSL re-encodes from its parse.

// CMSVersion 3: the signer is named by subjectKeyIdentifier (RFC 5652 5.1, 5.3).
constexpr std::int64_t kSignedDataVersion = 3;
constexpr std::int64_t kSignerInfoVersion = 3;

// "name (dotted numbers)", or the numbers alone for an OID OpenSSL does not know.
std::string oid_text(const ASN1_OBJECT* oid) {
  if (oid == nullptr) return "(none)";
  char dotted[128] = {};
  OBJ_obj2txt(dotted, sizeof dotted, oid, 1);
  const int nid = OBJ_obj2nid(oid);
  if (nid == NID_undef) return dotted;
  return fmt::format("{} ({})", OBJ_nid2ln(nid), dotted);
}

// An AlgorithmIdentifier: `nid` with parameters of type `parameter_type`
// (V_ASN1_UNDEF: absent), or what it is instead.
Status check_algorithm(const X509_ALGOR* alg, int nid, int parameter_type, std::string_view field) {
  if (alg == nullptr) return bad_input("signature: {} is missing", field);
  const ASN1_OBJECT* oid = nullptr;
  int ptype = V_ASN1_UNDEF;
  X509_ALGOR_get0(&oid, &ptype, nullptr, alg);
  if (OBJ_obj2nid(oid) != nid) return bad_input("signature: {} is {}, expected {}", field, oid_text(oid), OBJ_nid2ln(nid));
  if (ptype != parameter_type) {
    auto type_name = [](int type) { return type == V_ASN1_UNDEF ? "none" : ASN1_tag2str(type); };
    return bad_input("signature: {} has parameters of ASN.1 type {}, expected {}", field, type_name(ptype), type_name(parameter_type));
  }
  return Ok{};
}

// One DER element, read with OpenSSL's ASN1_get_object from the front of
// what remains of its enclosing element.
struct DerElement {
  int tag = 0;
  int tag_class = 0;  // V_ASN1_UNIVERSAL, V_ASN1_CONTEXT_SPECIFIC, ...
  Bytes whole;        // identifier, length and content
  Bytes content;
};

class DerReader {
 public:
  explicit DerReader(Bytes der) : rest_(der) {}
  bool at_end() const { return rest_.empty(); }
  // The next element, if one of definite length fits in what remains.
  std::optional<DerElement> next() {
    if (rest_.empty()) return std::nullopt;
    const unsigned char* p = rest_.data();
    long length = 0;
    int tag = 0;
    int tag_class = 0;
    const int ret = ASN1_get_object(&p, &length, &tag, &tag_class, static_cast<long>(rest_.size()));
    if ((ret & 0x80) != 0 || (ret & 0x01) != 0) {  // malformed, too long, or indefinite length
      ERR_clear_error();
      return std::nullopt;
    }
    const auto header = static_cast<std::size_t>(p - rest_.data());
    if (length < 0 || static_cast<std::size_t>(length) > rest_.size() - header) return std::nullopt;
    const auto size = header + static_cast<std::size_t>(length);
    DerElement e{tag, tag_class, rest_.first(size), rest_.subspan(header, static_cast<std::size_t>(length))};
    rest_ = rest_.subspan(size);
    return e;
  }

 private:
  Bytes rest_;
};

std::optional<std::int64_t> integer_value(const DerElement& e) {
  if (e.tag != V_ASN1_INTEGER || e.tag_class != V_ASN1_UNIVERSAL) return std::nullopt;
  const unsigned char* p = e.whole.data();
  Asn1IntPtr integer(d2i_ASN1_INTEGER(nullptr, &p, static_cast<long>(e.whole.size())));
  std::int64_t value = 0;
  if (!integer || ASN1_INTEGER_get_int64(&value, integer.get()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return value;
}

// The fields OpenSSL's CMS API does not expose (the two versions, the outer
// digestAlgorithms, whether certificates or CRLs are present), read from
// the DER, which the caller has found canonical.
Status check_fields_without_accessors(Bytes der) {
  const auto unexpected = [] { return bad_input("signature: the SignedData structure could not be walked"); };
  // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }
  DerReader top(der);
  const auto content_info = top.next();
  if (!content_info) return unexpected();
  DerReader ci(content_info->content);
  const auto content_type = ci.next();
  const auto explicit_content = ci.next();
  if (!content_type || !explicit_content) return unexpected();
  const auto signed_data = DerReader(explicit_content->content).next();
  if (!signed_data) return unexpected();

  // SignedData ::= SEQUENCE { version, digestAlgorithms, encapContentInfo,
  //   certificates [0] OPTIONAL, crls [1] OPTIONAL, signerInfos }
  DerReader sd(signed_data->content);
  const auto version_element = sd.next();
  const auto version = version_element ? integer_value(*version_element) : std::nullopt;
  if (!version) return unexpected();
  if (*version != kSignedDataVersion) return bad_input("signature: SignedData version is {}, expected {}", *version, kSignedDataVersion);

  const auto digest_algorithms = sd.next();
  if (!digest_algorithms || digest_algorithms->tag != V_ASN1_SET) return unexpected();
  DerReader algorithms(digest_algorithms->content);
  const auto first_algorithm = algorithms.next();
  if (!first_algorithm || !algorithms.at_end()) return bad_input("signature: digestAlgorithms does not hold exactly one algorithm");
  const unsigned char* p = first_algorithm->whole.data();
  OsslPtr<X509_ALGOR, X509_ALGOR_free> algorithm(d2i_X509_ALGOR(nullptr, &p, static_cast<long>(first_algorithm->whole.size())));
  if (!algorithm) {
    ERR_clear_error();
    return bad_input("signature: digestAlgorithms holds something other than an AlgorithmIdentifier");
  }
  if (auto s = check_algorithm(algorithm.get(), NID_sha256, V_ASN1_UNDEF, "digestAlgorithms"); !s) return s;

  if (!sd.next()) return unexpected();  // encapContentInfo, checked through CMS_get0_eContentType and CMS_get0_content
  const auto after = sd.next();
  if (!after) return unexpected();
  if (after->tag_class == V_ASN1_CONTEXT_SPECIFIC && after->tag == 0) {
    return bad_input("signature: carries certificates; the kernel's form has none");
  }
  if (after->tag_class == V_ASN1_CONTEXT_SPECIFIC && after->tag == 1) {
    return bad_input("signature: carries CRLs; the kernel's form has none");
  }
  if (after->tag != V_ASN1_SET || !sd.at_end()) return unexpected();

  // signerInfos ::= SET OF SignerInfo; SignerInfo ::= SEQUENCE { version, ... }
  const auto signer_info = DerReader(after->content).next();
  if (!signer_info) return unexpected();
  const auto signer_version_element = DerReader(signer_info->content).next();
  const auto signer_version = signer_version_element ? integer_value(*signer_version_element) : std::nullopt;
  if (!signer_version) return unexpected();
  if (*signer_version != kSignerInfoVersion) {
    return bad_input("signature: SignerInfo version is {}, expected {}", *signer_version, kSignerInfoVersion);
  }
  return Ok{};
}

// The signature value of `der`, parsed as `cms`, if it is in the one form
// above, signed by the key whose certificate is `signer` (subjectKeyIdentifier
// `key_id`); else the first field that differs, by name.
Result<Bytes> canonical_signature_value(CMS_ContentInfo* cms, Bytes der, const Certificate& signer,
                                        const std::vector<std::uint8_t>& key_id) {
  // The encoding first: any other encoding of the same values is refused,
  // and the fields below are then read from plain DER.
  unsigned char* encoded = nullptr;
  const int encoded_size = i2d_CMS_ContentInfo(cms, &encoded);
  if (encoded_size <= 0) return openssl_error(ErrorKind::BadInput, "signature: re-encoding the parsed structure");
  const Bytes reencoded(encoded, static_cast<std::size_t>(encoded_size));
  const auto [at_der, at_reencoded] = std::mismatch(der.begin(), der.end(), reencoded.begin(), reencoded.end());
  const bool canonical = at_der == der.end() && at_reencoded == reencoded.end();
  const auto difference = static_cast<std::size_t>(at_der - der.begin());
  OPENSSL_free(encoded);
  if (!canonical) return bad_input("signature: not in canonical DER (its DER re-encoding differs from byte {} on)", difference);

  const ASN1_OBJECT* content_type = CMS_get0_type(cms);
  if (OBJ_obj2nid(content_type) != NID_pkcs7_signed) {
    return bad_input("signature: ContentInfo contentType is {}, expected signedData", oid_text(content_type));
  }
  if (auto s = check_fields_without_accessors(der); !s) return s.error();
  const ASN1_OBJECT* econtent_type = CMS_get0_eContentType(cms);
  if (OBJ_obj2nid(econtent_type) != NID_pkcs7_data) {
    return bad_input("signature: eContentType is {}, expected id-data", oid_text(econtent_type));
  }
  ASN1_OCTET_STRING** content = CMS_get0_content(cms);
  if (content == nullptr || *content != nullptr) {
    return bad_input("signature: content is embedded; the kernel expects detached content");
  }

  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms);
  const int signer_count = sk_CMS_SignerInfo_num(signers);
  if (signer_count != 1) return bad_input("signature: {} SignerInfos; the kernel takes exactly one", std::max(signer_count, 0));
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
  ASN1_OCTET_STRING* sid_key_id = nullptr;
  if (CMS_SignerInfo_get0_signer_id(si, &sid_key_id, nullptr, nullptr) != 1 || sid_key_id == nullptr) {
    ERR_clear_error();
    return bad_input("signature: SignerInfo sid is not a subjectKeyIdentifier");
  }
  const unsigned char* id = ASN1_STRING_get0_data(sid_key_id);
  const std::vector<std::uint8_t> named(id, id + ASN1_STRING_length(sid_key_id));
  if (named != key_id) {
    return bad_input("signature: SignerInfo sid names key id {}, the certificate {} has {}", to_hex(named), signer.subject(),
                     to_hex(key_id));
  }
  X509_ALGOR* digest_algorithm = nullptr;
  X509_ALGOR* signature_algorithm = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest_algorithm, &signature_algorithm);
  if (auto s = check_algorithm(digest_algorithm, NID_sha256, V_ASN1_UNDEF, "SignerInfo digestAlgorithm"); !s) return s.error();
  // A count of -1 means absent; 0 would be an empty set, present.
  if (CMS_signed_get_attr_count(si) >= 0) {
    return bad_input("signature: SignerInfo carries signed attributes (signedAttrs); the kernel's form has none");
  }

  // What OpenSSL writes (and so sign_detached) for the key.
  const EVP_PKEY* key = X509_get0_pubkey(signer.get());
  const bool rsa = key != nullptr && EVP_PKEY_is_a(key, "RSA");
  const bool ec = key != nullptr && EVP_PKEY_is_a(key, "EC");
  if (!rsa && !ec) return bad_input("signature: certificate {} holds neither an RSA nor an EC key", signer.subject());
  const Status algorithm = rsa ? check_algorithm(signature_algorithm, NID_rsaEncryption, V_ASN1_NULL, "SignerInfo signatureAlgorithm")
                               : check_algorithm(signature_algorithm, NID_ecdsa_with_SHA256, V_ASN1_UNDEF, "SignerInfo signatureAlgorithm");
  if (!algorithm) return algorithm.error();
  if (CMS_unsigned_get_attr_count(si) >= 0) {
    return bad_input("signature: SignerInfo carries unsigned attributes (unsignedAttrs); the kernel's form has none");
  }
  const ASN1_OCTET_STRING* value = CMS_SignerInfo_get0_signature(si);
  if (value == nullptr || ASN1_STRING_length(value) <= 0) return bad_input("signature: SignerInfo signature is empty");
  return Bytes(ASN1_STRING_get0_data(value), static_cast<std::size_t>(ASN1_STRING_length(value)));
}

// The key's verification set up: SHA-256, and PKCS#1 v1.5 padding for
// RSA. One set-up serves every signature of a signer (OpenSSL 3 looks the
// algorithm up in its providers for each new context).
Result<PkeyCtxPtr> verification_context(const Certificate& signer) {
  EVP_PKEY* key = X509_get0_pubkey(signer.get());
  if (key == nullptr) return refused_by(signer);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1 ||
      (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)) {
    return openssl_error(ErrorKind::Internal, "setting up signature verification");
  }
  return ctx;
}

// A signature value in the canonical form, checked as the kernel and
// OpenSSL's own CMS code check it when there are no signed attributes: the
// signer's signature over SHA-256 of the content, with the key `ctx` was
// set up for (verification_context). Taking the digest in one pass (not
// through CMS_verify's 4 KiB BIO reads) is what lets verification run at
// the speed of the cryptography.
Status verify_value(Bytes value, std::span<const Bytes> payload, const Certificate& signer, const Sha256* payload_hash,
                    EVP_PKEY_CTX* ctx) {
  const Sha256 digest = payload_hash != nullptr ? *payload_hash : sha256(payload);
  if (EVP_PKEY_verify(ctx, value.data(), value.size(), digest.data(), digest.size()) != 1) return refused_by(signer);
  return Ok{};
}

// A signature in any other form: OpenSSL's CMS_verify decides, so that
// the report can say whether it is at least a valid signature (its form
// check fails on its own line either way).
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

}  // namespace

Result<SignatureShape> read_signature_shape(Bytes signature) {
  auto cms = parse_cms(signature);
  if (!cms) return cms.error();
  return shape_of(cms->get());
}

Status check_kernel_rules(Bytes signature, const Certificate& cert) {
  auto cms = parse_cms(signature);
  if (!cms) return cms.error();
  if (auto value = canonical_signature_value(cms->get(), signature, cert, cert.subject_key_id()); !value) return value.error();
  return key_rules(cert);
}

Status verify_detached(Bytes signature, Bytes payload, const Certificate& signer) {
  auto cms = parse_cms(signature);
  if (!cms) return cms.error();
  const std::span<const Bytes> parts(&payload, 1);
  auto value = canonical_signature_value(cms->get(), signature, signer, signer.subject_key_id());
  if (!value) return verify_with_cms(cms->get(), parts, signer);
  auto ctx = verification_context(signer);
  if (!ctx) return ctx.error();
  return verify_value(*value, parts, signer, nullptr, ctx->get());
}

SignatureVerifier::SignatureVerifier(const Certificate& signer)
    : signer_(signer), key_id_(signer.subject_key_id()), key_rules_(key_rules(signer)) {}

SignatureVerifier::~SignatureVerifier() = default;

void SignatureVerifier::FreeContext::operator()(evp_pkey_ctx_st* ctx) const { EVP_PKEY_CTX_free(ctx); }

SignatureCheck SignatureVerifier::check(Bytes signature, std::span<const Bytes> payload, const Sha256* payload_hash) {
  auto cms = parse_cms(signature);
  if (!cms) return {cms.error(), cms.error()};
  auto value = canonical_signature_value(cms->get(), signature, signer_, key_id_);
  if (!value) return {value.error(), verify_with_cms(cms->get(), payload, signer_)};
  if (!ctx_) {
    auto made = verification_context(signer_);
    if (!made) return {key_rules_, made.error()};
    ctx_.reset(made->release());
  }
  return {key_rules_, verify_value(*value, payload, signer_, payload_hash, ctx_.get())};
}

}  // namespace bpfsign::sign
