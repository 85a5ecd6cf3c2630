#include "bpfsign/sign/keys.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "bpfsign/common/file_io.hpp"
#include "bpfsign/sign/openssl_handles.hpp"
#include "bpfsign/sign/pkcs11_key.hpp"

namespace bpfsign::sign {

namespace {

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p) { return {p, EVP_PKEY_free}; }
std::shared_ptr<X509> own(X509* p) { return {p, X509_free}; }

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0) return "?";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string describe_pkey(const EVP_PKEY* key) {
  if (key == nullptr) {  // a certificate whose public key OpenSSL cannot decode
    ERR_clear_error();
    return "unreadable public key";
  }
  if (EVP_PKEY_is_a(key, "RSA")) return fmt::format("RSA {}-bit", EVP_PKEY_get_bits(key));
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1) return fmt::format("ECDSA {}", group);
    return "ECDSA";
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return type != nullptr ? type : "unknown key type";
}

// Bytes of a memory BIO, or empty.
std::vector<std::uint8_t> bio_bytes(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0) return {};
  return {reinterpret_cast<std::uint8_t*>(data), reinterpret_cast<std::uint8_t*>(data) + len};
}

Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) return openssl_error(ErrorKind::Internal, fmt::format("certificate extension {}={}", OBJ_nid2sn(nid), value));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return openssl_error(ErrorKind::Internal, "adding a certificate extension");
  return Ok{};
}

}  // namespace

const char* key_algorithm_name(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::Rsa2048: return "rsa2048";
    case KeyAlgorithm::Rsa3072: return "rsa3072";
    case KeyAlgorithm::Rsa4096: return "rsa4096";
    case KeyAlgorithm::EcdsaP256: return "p256";
    case KeyAlgorithm::EcdsaP384: return "p384";
  }
  return "?";
}

Result<KeyAlgorithm> parse_key_algorithm(const std::string& name) {
  for (auto a : kAllKeyAlgorithms) {
    if (name == key_algorithm_name(a)) return a;
  }
  return usage_error("unknown key algorithm '{}' (expected rsa2048, rsa3072, rsa4096, p256 or p384)", name);
}

Result<PrivateKey> PrivateKey::generate(KeyAlgorithm algorithm) {
  EVP_PKEY* key = nullptr;
  switch (algorithm) {
    case KeyAlgorithm::Rsa2048: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}); break;
    case KeyAlgorithm::Rsa3072: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{3072}); break;
    case KeyAlgorithm::Rsa4096: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{4096}); break;
    case KeyAlgorithm::EcdsaP256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyAlgorithm::EcdsaP384: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
  }
  if (key == nullptr) return openssl_error(ErrorKind::Internal, fmt::format("generating a {} key", key_algorithm_name(algorithm)));
  PrivateKey out;
  out.key_ = own(key);
  return out;
}

Result<PrivateKey> PrivateKey::load(const std::string& path_or_uri, const std::string& pkcs11_module, const std::string& pin) {
  PrivateKey out;
  if (path_or_uri.rfind("pkcs11:", 0) == 0) {
    auto key = load_pkcs11_key(path_or_uri, pkcs11_module, pin);
    if (!key) return key.error();
    out.key_ = own(*key);
    return out;
  }
  auto bytes = read_file(path_or_uri);
  if (!bytes) return bytes.error();
  BioPtr bio(BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  OPENSSL_cleanse(bytes->data(), bytes->size());
  if (key == nullptr) return openssl_error(ErrorKind::BadInput, path_or_uri + ": not a PEM private key");
  out.key_ = own(key);
  return out;
}

Result<StagedFile> PrivateKey::stage_pem(const std::filesystem::path& path) const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_error(ErrorKind::BadInput, path.string() + ": this key cannot be exported (a token key stays in its token)");
  }
  std::vector<std::uint8_t> pem = bio_bytes(bio.get());
  auto staged = StagedFile::write(path, pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  return staged;
}

Status PrivateKey::write_pem(const std::filesystem::path& path) const {
  auto staged = stage_pem(path);
  if (!staged) return staged.error();
  return staged->commit(Existing::Replace);
}

std::string PrivateKey::describe() const { return describe_pkey(key_.get()); }

Result<Certificate> Certificate::from_der(Bytes der, const std::string& what) {
  const unsigned char* p = der.data();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (cert == nullptr) return openssl_error(ErrorKind::BadInput, what + ": not a DER X.509 certificate");
  Certificate out;
  out.cert_ = own(cert);
  if (p != der.data() + der.size()) return bad_input("{}: {} bytes after the certificate", what, der.data() + der.size() - p);
  out.der_ = std::make_shared<const std::vector<std::uint8_t>>(der.begin(), der.end());
  return out;
}

Result<Certificate> Certificate::load(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  if (bytes->size() > (1u << 20)) return bad_input("{}: {} bytes is too large for a certificate", path.string(), bytes->size());
  BioPtr bio(BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
  if (X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr) {
    Certificate out;
    out.cert_ = own(cert);
    unsigned char* buf = nullptr;
    const int len = i2d_X509(cert, &buf);
    if (len <= 0) return openssl_error(ErrorKind::BadInput, path.string() + ": certificate cannot be encoded as DER");
    out.der_ = std::make_shared<const std::vector<std::uint8_t>>(buf, buf + len);
    OPENSSL_free(buf);
    return out;
  }
  ERR_clear_error();
  return from_der(*bytes, path.string());
}

Result<std::vector<Certificate>> Certificate::load_all(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  if (bytes->size() > (1u << 20)) return bad_input("{}: {} bytes is too large for a certificate file", path.string(), bytes->size());
  std::vector<Certificate> out;
  BioPtr bio(BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
  while (X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr) {
    unsigned char* buf = nullptr;
    const int len = i2d_X509(cert, &buf);
    X509_free(cert);
    if (len <= 0) return openssl_error(ErrorKind::BadInput, path.string() + ": certificate cannot be encoded as DER");
    auto c = from_der(Bytes(buf, static_cast<std::size_t>(len)), path.string());
    OPENSSL_free(buf);
    if (!c) return c.error();
    out.push_back(std::move(c).value());
  }
  ERR_clear_error();
  // Every certificate the file holds, or an error: a damaged one in the
  // middle must not shorten a list of trust anchors or revoked signers.
  const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  std::size_t markers = 0;
  for (std::size_t at = text.find("-----BEGIN CERTIFICATE-----"); at != std::string_view::npos;
       at = text.find("-----BEGIN CERTIFICATE-----", at + 1)) {
    ++markers;
  }
  if (markers != out.size()) {
    return bad_input("{}: {} of its {} PEM certificates could be read", path.string(), out.size(), markers);
  }
  if (!out.empty()) return out;
  auto one = from_der(*bytes, path.string());  // not PEM: one DER certificate
  if (!one) return one.error();
  out.push_back(std::move(one).value());
  return out;
}

const std::vector<std::uint8_t>& Certificate::der() const {
  if (!der_) internal_error("certificate without its DER encoding");
  return *der_;
}

Result<StagedFile> Certificate::stage_pem(const std::filesystem::path& path) const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return openssl_error(ErrorKind::Internal, "encoding a certificate");
  return StagedFile::write(path, bio_bytes(bio.get()), 0644);
}

Status Certificate::write_pem(const std::filesystem::path& path) const {
  auto staged = stage_pem(path);
  if (!staged) return staged.error();
  return staged->commit(Existing::Replace);
}

std::vector<std::uint8_t> Certificate::subject_key_id() const {
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(cert_.get());
  if (skid == nullptr) return {};
  const unsigned char* d = ASN1_STRING_get0_data(skid);
  return {d, d + ASN1_STRING_length(skid)};
}

std::string Certificate::subject() const { return name_text(X509_get_subject_name(cert_.get())); }
std::string Certificate::issuer() const { return name_text(X509_get_issuer_name(cert_.get())); }
std::string Certificate::public_key_description() const { return describe_pkey(X509_get0_pubkey(cert_.get())); }

bool Certificate::matches(const PrivateKey& key) const {
  const int same = X509_check_private_key(cert_.get(), key.get());
  ERR_clear_error();
  return same == 1;
}

Result<Certificate> make_certificate(const PrivateKey& key, const CertificateRequest& request) {
  if (request.issuer && !request.issuer->cert.matches(request.issuer->key)) {
    return bad_input("the issuer's private key does not belong to its certificate ({})", request.issuer->cert.subject());
  }
  OsslPtr<X509, X509_free> cert(X509_new());
  if (!cert) return openssl_error(ErrorKind::Internal, "X509_new");
  std::uint8_t serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return openssl_error(ErrorKind::Internal, "random serial number");
  serial_bytes[0] &= 0x7f;  // a positive INTEGER
  BignumPtr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_time_adj_ex(X509_getm_notBefore(cert.get()), static_cast<int>(request.not_before_days), 0, nullptr) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(request.not_before_days + static_cast<long>(request.days)), 0,
                       nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return openssl_error(ErrorKind::Internal, "building a certificate");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return openssl_error(ErrorKind::BadInput, "certificate subject CN=" + request.common_name);
  }
  X509* issuer = request.issuer ? request.issuer->cert.get() : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1) return openssl_error(ErrorKind::Internal, "issuer name");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
  const std::string usage = !request.key_usage.empty() ? "critical," + request.key_usage
                            : request.is_ca            ? "critical,digitalSignature,keyCertSign"
                                                       : "critical,digitalSignature";
  if (auto s = add_extension(cert.get(), &ctx, NID_basic_constraints, request.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"); !s) return s.error();
  if (request.key_usage != "-") {
    if (auto s = add_extension(cert.get(), &ctx, NID_key_usage, usage.c_str()); !s) return s.error();
  }
  if (!request.extended_key_usage.empty()) {
    if (auto s = add_extension(cert.get(), &ctx, NID_ext_key_usage, request.extended_key_usage.c_str()); !s) return s.error();
  }
  if (auto s = add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash"); !s) return s.error();
  // The authority key id needs the issuer's subject key id, which for a
  // self-signed certificate is the one just added.
  if (auto s = add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"); !s) return s.error();
  const PrivateKey& signer = request.issuer ? request.issuer->key : key;
  if (X509_sign(cert.get(), signer.get(), EVP_sha256()) <= 0) return openssl_error(ErrorKind::Internal, "signing the certificate");
  Certificate out;
  auto der = [&] {
    unsigned char* buf = nullptr;
    const int len = i2d_X509(cert.get(), &buf);
    std::vector<std::uint8_t> v(buf, buf + std::max(len, 0));
    OPENSSL_free(buf);
    return v;
  }();
  return Certificate::from_der(der, "generated certificate");
}

}  // namespace bpfsign::sign
