#include "bpfsign/sign/signer_policy.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "bpfsign/common/file_io.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/sign/openssl_handles.hpp"

namespace bpfsign::sign {

namespace {

std::time_t when(const SignerPolicy& p) { return p.at != 0 ? p.at : std::time(nullptr); }

Status within_validity(const Certificate& c, const SignerPolicy& p) {
  if (p.allow_expired) return Ok{};
  std::time_t t = when(p);
  // X509_cmp_time answers 0 when it cannot read the time: that is a refusal.
  const int begins = X509_cmp_time(X509_get0_notBefore(c.get()), &t), ends = X509_cmp_time(X509_get0_notAfter(c.get()), &t);
  if (begins == 0 || ends == 0) return refusal("signer certificate {}: its validity period cannot be read", c.subject());
  if (begins > 0) return refusal("signer certificate {} is not valid yet", c.subject());
  if (ends < 0) {
    return refusal("signer certificate {} has expired (an archive is verified with --allow-expired-signer)", c.subject());
  }
  return Ok{};
}

Status not_revoked(X509* c, const SignerPolicy& p) {
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(c);
  if (skid == nullptr) return Ok{};
  const std::vector<std::uint8_t> id(ASN1_STRING_get0_data(skid), ASN1_STRING_get0_data(skid) + ASN1_STRING_length(skid));
  if (std::find(p.revoked_key_ids.begin(), p.revoked_key_ids.end(), id) != p.revoked_key_ids.end()) {
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(c), name, sizeof name);
    return refusal("certificate {} (key id {}) is revoked", name, to_hex(id));
  }
  return Ok{};
}

}  // namespace

Status check_signer(const Certificate& signer, const SignerPolicy& policy) {
  X509* c = signer.get();
  const std::uint32_t flags = X509_get_extension_flags(c);  // also makes OpenSSL decode the extensions
  if (flags & EXFLAG_INVALID) return refusal("signer certificate {}: its extensions cannot be decoded", signer.subject());
  if (auto v = within_validity(signer, policy); !v) return v;
  if ((flags & EXFLAG_KUSAGE) == 0) return refusal("signer certificate {} has no keyUsage (digitalSignature is required)", signer.subject());
  if ((X509_get_key_usage(c) & KU_DIGITAL_SIGNATURE) == 0) {
    return refusal("signer certificate {}: keyUsage lacks digitalSignature", signer.subject());
  }
  // Either mark makes a CA: basicConstraints CA:TRUE, or keyUsage
  // keyCertSign. (X509_check_ca asks whether a certificate may act as a CA,
  // which needs both when keyUsage is present: a CA:TRUE leaf without
  // keyCertSign would pass it.)
  if ((flags & EXFLAG_CA) != 0) {
    return refusal("signer certificate {} is a CA certificate (basicConstraints CA:TRUE): a CA issues signers, it does not sign", signer.subject());
  }
  if ((X509_get_key_usage(c) & KU_KEY_CERT_SIGN) != 0) {
    return refusal("signer certificate {} is a CA certificate (keyUsage keyCertSign): a CA issues signers, it does not sign", signer.subject());
  }
  if ((flags & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(c) & XKU_CODE_SIGN) == 0) {
    return refusal("signer certificate {}: its extendedKeyUsage does not name codeSigning", signer.subject());
  }
  return not_revoked(c, policy);
}

Status check_chain(const Certificate& signer, const std::vector<Certificate>& anchors, const std::vector<Certificate>& intermediates,
                   const SignerPolicy& policy) {
  X509StorePtr store(X509_STORE_new());
  if (!store) return openssl_error(ErrorKind::Internal, "X509_STORE_new");
  for (const auto& a : anchors) {
    if (X509_STORE_add_cert(store.get(), a.get()) != 1) return openssl_error(ErrorKind::Internal, "adding a trust anchor");
  }
  X509StackPtr untrusted(sk_X509_new_null());
  if (!untrusted) return openssl_error(ErrorKind::Internal, "sk_X509_new_null");
  for (const auto& i : intermediates) {
    // The stack borrows: `intermediates` outlives it (it is freed without
    // freeing its elements).
    if (sk_X509_push(untrusted.get(), i.get()) <= 0) return openssl_error(ErrorKind::Internal, "adding an intermediate");
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), signer.get(), untrusted.get()) != 1) {
    return openssl_error(ErrorKind::Internal, "X509_STORE_CTX_init");
  }
  // A --ca may be an intermediate the user trusts as an anchor; the
  // chain's own rules (CA:TRUE issuers, signatures, path length) are
  // OpenSSL's, in strict mode. The leaf's rules are check_signer's.
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT;
  if (policy.allow_expired) {
    flags |= X509_V_FLAG_NO_CHECK_TIME;
  } else if (policy.at != 0) {
    X509_STORE_CTX_set_time(ctx.get(), 0, policy.at);
  }
  X509_STORE_CTX_set_flags(ctx.get(), flags);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return refusal("certificate {} does not chain to a given CA: {}", signer.subject(), X509_verify_cert_error_string(err));
  }
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    if (auto r = not_revoked(sk_X509_value(chain, i), policy); !r) return r;
  }
  return Ok{};
}

Result<std::vector<std::vector<std::uint8_t>>> load_revoked(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  const std::string text(bytes->begin(), bytes->end());
  std::vector<std::vector<std::uint8_t>> out;
  if (text.find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
    auto certs = Certificate::load_all(path);
    if (!certs) return certs.error();
    for (const auto& c : *certs) {
      if (c.subject_key_id().empty()) return bad_input("{}: certificate {} has no subjectKeyIdentifier to revoke", path, c.subject());
      out.push_back(c.subject_key_id());
    }
    return out;
  }
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = line.substr(0, line.find('#'));
    std::string hex;
    for (char ch : line) {
      if (ch == ':' || std::isspace(static_cast<unsigned char>(ch))) continue;
      if (!std::isxdigit(static_cast<unsigned char>(ch))) return bad_input("{}: line {}: '{}' is not a hex key id", path, n, line);
      hex += ch;
    }
    if (hex.empty()) continue;
    if (hex.size() % 2 != 0 || hex.size() > 128) return bad_input("{}: line {}: a key id is 1 to 64 bytes in hex", path, n);
    std::vector<std::uint8_t> id;
    for (std::size_t i = 0; i < hex.size(); i += 2) id.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    out.push_back(std::move(id));
  }
  return out;
}

}  // namespace bpfsign::sign
