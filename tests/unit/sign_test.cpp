// Keys, certificates and the PKCS#7 signatures kernels check: generated
// certificates carry what a keyring needs, signatures have exactly the
// kernel's form and verify with OpenSSL's own command line, tampering is
// caught, CA-issued certificates chain, hash chains follow the seed.
#include <gtest/gtest.h>

#include <fstream>

#include <openssl/x509v3.h>

#include "bpfsign/common/file_io.hpp"
#include "bpfsign/sign/keys.hpp"
#include "bpfsign/sign/pkcs7.hpp"
#include "bpfsign/sign/signer_policy.hpp"
#include "bpfsign/sign/scheme.hpp"
#include "test_support.hpp"

namespace bpfsign::sign {
namespace {

struct Identity {
  PrivateKey key;
  Certificate cert;
};

Identity make_identity(KeyAlgorithm algorithm, const Identity* issuer = nullptr, bool ca = false) {
  auto key = PrivateKey::generate(algorithm);
  EXPECT_TRUE(key.ok());
  CertificateRequest req;
  req.common_name = std::string("test ") + key_algorithm_name(algorithm);
  req.is_ca = ca;
  if (issuer != nullptr) {
    req.issuer.emplace(CertificateRequest::Issuer{issuer->key, issuer->cert});
  }
  auto cert = make_certificate(*key, req);
  EXPECT_TRUE(cert.ok()) << cert.error().message;
  return {std::move(key).value(), std::move(cert).value()};
}

const std::vector<std::uint8_t> kPayload = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

class EveryAlgorithm : public ::testing::TestWithParam<KeyAlgorithm> {};

TEST_P(EveryAlgorithm, CertificateCarriesWhatAKeyringNeeds) {
  const Identity id = make_identity(GetParam());
  EXPECT_EQ(id.cert.subject_key_id().size(), 20u);
  EXPECT_TRUE(id.cert.matches(id.key));
  X509* x = id.cert.get();
  EXPECT_EQ(X509_get_version(x), X509_VERSION_3);
  EXPECT_NE(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE, 0u);
  EXPECT_EQ(X509_check_ca(x), 0) << "a signing certificate is not a CA";
  EXPECT_NE(X509_get0_authority_key_id(x), nullptr);
}

TEST_P(EveryAlgorithm, SignatureHasTheKernelsFormAndVerifies) {
  const Identity id = make_identity(GetParam());
  auto sig = sign_detached(id.key, id.cert, kPayload);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  auto shape = read_signature_shape(*sig);
  ASSERT_TRUE(shape.ok()) << shape.error().message;
  EXPECT_EQ(shape->signers, 1u);
  EXPECT_EQ(shape->digest, "SHA256");
  EXPECT_FALSE(shape->signed_attributes);
  EXPECT_EQ(shape->embedded_certificates, 0u);
  EXPECT_EQ(shape->signer_key_id, id.cert.subject_key_id());
  EXPECT_TRUE(check_kernel_rules(*sig, id.cert).ok());
  EXPECT_TRUE(verify_detached(*sig, kPayload, id.cert).ok());
}

TEST_P(EveryAlgorithm, OpensslCmsVerifiesTheSignature) {
  const Identity id = make_identity(GetParam());
  auto sig = sign_detached(id.key, id.cert, kPayload);
  ASSERT_TRUE(sig.ok());
  const auto dir = test::temp_dir();
  ASSERT_TRUE(write_file_atomic(dir / "sig.der", *sig).ok());
  ASSERT_TRUE(write_file_atomic(dir / "payload", kPayload).ok());
  ASSERT_TRUE(id.cert.write_pem(dir / "cert.pem").ok());
  const std::string base = "openssl cms -verify -binary -noverify -inform DER -in " + (dir / "sig.der").string() + " -certfile " +
                           (dir / "cert.pem").string() + " -out /dev/null -content ";
  auto good = test::run_command(base + (dir / "payload").string());
  EXPECT_EQ(good.status, 0) << good.err;
  std::vector<std::uint8_t> other = kPayload;
  other[3] ^= 1;
  ASSERT_TRUE(write_file_atomic(dir / "other", other).ok());
  auto bad = test::run_command(base + (dir / "other").string());
  EXPECT_NE(bad.status, 0) << "openssl accepted a signature over other bytes";
}

TEST_P(EveryAlgorithm, TamperingIsCaught) {
  const Identity id = make_identity(GetParam());
  const Identity other = make_identity(GetParam());
  auto sig = sign_detached(id.key, id.cert, kPayload);
  ASSERT_TRUE(sig.ok());
  std::vector<std::uint8_t> payload = kPayload;
  payload.back() ^= 0x80;
  EXPECT_FALSE(verify_detached(*sig, payload, id.cert).ok()) << "changed payload";
  EXPECT_FALSE(verify_detached(*sig, kPayload, other.cert).ok()) << "another key";
  auto flipped = *sig;
  flipped[flipped.size() - 5] ^= 1;  // inside the signature value
  EXPECT_FALSE(verify_detached(flipped, kPayload, id.cert).ok()) << "flipped signature byte";
  EXPECT_FALSE(check_kernel_rules(*sig, other.cert).ok()) << "key id of another certificate";
}

// One verifier checks all of a signer's signatures, and later signatures
// shaped like the first skip their parse: every verdict must still be the
// one a fresh, full check gives, whichever byte of a later signature changes.
TEST_P(EveryAlgorithm, VerifierGivesEachSignatureItsOwnVerdict) {
  const Identity id = make_identity(GetParam());
  std::vector<std::vector<std::uint8_t>> payloads;
  std::vector<std::vector<std::uint8_t>> sigs;
  for (std::uint8_t i = 0; i < 3; ++i) {
    payloads.push_back(kPayload);
    payloads.back()[0] = i;
    auto sig = sign_detached(id.key, id.cert, payloads.back());
    ASSERT_TRUE(sig.ok());
    sigs.push_back(std::move(sig).value());
  }
  auto one = [](const std::vector<std::uint8_t>& p) { return std::vector<Bytes>{Bytes(p)}; };
  SignatureVerifier verifier(id.cert);
  for (std::size_t i = 0; i < sigs.size(); ++i) {
    auto [rules, verified] = verifier.check(sigs[i], one(payloads[i]));
    EXPECT_TRUE(rules.ok() && verified.ok()) << i;
  }
  // Another signature's payload, then every single-byte change of a later
  // signature: refused exactly when a fresh full check refuses.
  EXPECT_FALSE(verifier.check(sigs[2], one(payloads[1])).signature.ok());
  for (std::size_t b = 0; b < sigs[1].size(); ++b) {
    auto changed = sigs[1];
    changed[b] ^= 0x01;
    const bool fresh = verify_detached(changed, payloads[1], id.cert).ok() && check_kernel_rules(changed, id.cert).ok();
    auto [rules, verified] = verifier.check(changed, one(payloads[1]));
    EXPECT_EQ(rules.ok() && verified.ok(), fresh) << "byte " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, EveryAlgorithm,
                         ::testing::Values(KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa3072, KeyAlgorithm::Rsa4096, KeyAlgorithm::EcdsaP256,
                                           KeyAlgorithm::EcdsaP384),
                         [](const auto& p) { return std::string(key_algorithm_name(p.param)); });

TEST(Sign, CaIssuedCertificatesChain) {
  const Identity ca = make_identity(KeyAlgorithm::EcdsaP256, nullptr, true);
  const Identity leaf = make_identity(KeyAlgorithm::Rsa2048, &ca);
  const Identity stranger = make_identity(KeyAlgorithm::Rsa2048);
  EXPECT_EQ(leaf.cert.issuer(), ca.cert.subject());
  EXPECT_TRUE(check_chain(leaf.cert, {ca.cert}, {}, {}).ok());
  auto wrong = check_chain(stranger.cert, {ca.cert}, {}, {});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("does not chain"), std::string::npos) << wrong.error().message;
  // A certificate issued by one CA and presented with the key of another is refused.
  CertificateRequest req;
  req.issuer.emplace(CertificateRequest::Issuer{stranger.key, ca.cert});
  EXPECT_FALSE(make_certificate(leaf.key, req).ok());
}

TEST(Sign, SignedAttributesAreRefusedByTheKernelRules) {
  // openssl cms -sign without -noattr adds signed attributes: valid CMS, not
  // what a kernel takes.
  const Identity id = make_identity(KeyAlgorithm::Rsa2048);
  const auto dir = test::temp_dir();
  ASSERT_TRUE(id.key.write_pem(dir / "k.pem").ok());
  ASSERT_TRUE(id.cert.write_pem(dir / "c.pem").ok());
  ASSERT_TRUE(write_file_atomic(dir / "payload", kPayload).ok());
  auto r = test::run_command("openssl cms -sign -binary -nocerts -outform DER -md sha256 -keyid -in " + (dir / "payload").string() +
                             " -signer " + (dir / "c.pem").string() + " -inkey " + (dir / "k.pem").string() + " -out " +
                             (dir / "attr.der").string());
  ASSERT_EQ(r.status, 0) << r.err;
  auto der = read_file(dir / "attr.der");
  ASSERT_TRUE(der.ok());
  auto rules = check_kernel_rules(*der, id.cert);
  ASSERT_FALSE(rules.ok());
  EXPECT_NE(rules.error().message.find("signed attributes"), std::string::npos) << rules.error().message;
  // Not the kernel's form, so verified through CMS_verify rather than the
  // digest-then-EVP_PKEY_verify path: still a valid signature, over this payload only.
  EXPECT_TRUE(verify_detached(*der, kPayload, id.cert).ok());
  auto changed = std::vector<std::uint8_t>(kPayload.begin(), kPayload.end());
  changed[0] ^= 1;
  EXPECT_FALSE(verify_detached(*der, changed, id.cert).ok());
}

TEST(Sign, GarbageSignaturesGiveClearErrors) {
  const Identity id = make_identity(KeyAlgorithm::EcdsaP256);
  EXPECT_FALSE(read_signature_shape({}).ok());
  const std::vector<std::uint8_t> junk(100, 0x30);
  auto r = verify_detached(junk, kPayload, id.cert);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("signature"), std::string::npos);
  std::vector<std::uint8_t> huge(kMaxSignatureSize + 1, 0);
  EXPECT_NE(read_signature_shape(huge).error().message.find("limit"), std::string::npos);
}

TEST(Sign, KeyFilesAreWrittenPrivately) {
  const Identity id = make_identity(KeyAlgorithm::EcdsaP384);
  const auto path = test::temp_dir() / "key.pem";
  ASSERT_TRUE(id.key.write_pem(path).ok());
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto back = PrivateKey::load(path.string());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(id.cert.matches(*back));
  EXPECT_FALSE(PrivateKey::load("/nonexistent.pem").ok());
}

TEST(Scheme, HashChainFollowsThePatchset) {
  const std::vector<std::uint8_t> insns = {0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<std::uint8_t> m0 = {1, 2, 3};  // padded to 8 bytes when hashed
  const std::vector<std::uint8_t> m1(16, 7);
  const Bytes maps[] = {m0, m1};
  const auto links = hash_chain(insns, maps);
  const std::vector<std::uint8_t> m0_area = {1, 2, 3, 0, 0, 0, 0, 0};
  EXPECT_EQ(links.maps[0], sha256(m0_area));
  EXPECT_EQ(links.maps[1], sha256(m1));
  // h(1) = H(m1); h(0) = SHA-256(h(1) || H(m0)); T = SHA-256(SHA-256(insns) || h(0)).
  auto cat = [](const Sha256& a, const Sha256& b) {
    std::vector<std::uint8_t> v(a.begin(), a.end());
    v.insert(v.end(), b.begin(), b.end());
    return sha256(v);
  };
  const Sha256 h0 = cat(sha256(m1), sha256(m0_area));
  EXPECT_EQ(links.chain[0], h0);
  EXPECT_EQ(links.top, cat(sha256(insns), h0));
  const auto payload = signed_payload(Scheme::HashChain, insns, maps);
  EXPECT_EQ(payload, std::vector<std::uint8_t>(links.top.begin(), links.top.end()));
  // Kernel-chained: the instructions, then each value area in fd_array order.
  const auto chained = signed_payload(Scheme::KernelChained, insns, maps);
  EXPECT_EQ(chained.size(), insns.size() + 8 + 16);
  EXPECT_EQ(signed_payload(Scheme::LoaderChecked, insns, maps), insns);
  // With no map the patchset signs the instructions themselves.
  EXPECT_EQ(signed_payload(Scheme::HashChain, insns, {}), insns);
}

}  // namespace
}  // namespace bpfsign::sign
