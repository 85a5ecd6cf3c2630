// The signer policy (sign/signer_policy.hpp), one certificate per rule, and
// through `verify` and `sign`: the same rules wherever a signer is judged.
#include <gtest/gtest.h>

#include <filesystem>

#include "bpfsign/bundle/sign_object.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/sign/signer_policy.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"
#include "test_support.hpp"

namespace bpfsign::sign {
namespace {

struct Made {
  PrivateKey key;
  Certificate cert;
};

Made make(CertificateRequest req, const Made* issuer = nullptr) {
  static const auto ca_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256);
  auto key = PrivateKey::generate(KeyAlgorithm::EcdsaP256);
  EXPECT_TRUE(key.ok());
  if (issuer != nullptr) {
    req.issuer.emplace(sign::CertificateRequest::Issuer{issuer->key, issuer->cert});
  }
  auto cert = make_certificate(*key, req);
  EXPECT_TRUE(cert.ok()) << cert.error().message;
  return Made{*key, *cert};
}

CertificateRequest with(void (*edit)(CertificateRequest&)) {
  CertificateRequest r;
  edit(r);
  return r;
}

TEST(SignerPolicy, AcceptsTheCertificatesKeygenMakes) {
  EXPECT_TRUE(check_signer(make({}).cert, {}).ok());
  const Made ca = make(with([](CertificateRequest& r) { r.is_ca = true; }));
  EXPECT_TRUE(check_signer(make({}, &ca).cert, {}).ok());
  EXPECT_TRUE(check_signer(make(with([](CertificateRequest& r) { r.extended_key_usage = "codeSigning"; })).cert, {}).ok());
}

TEST(SignerPolicy, RefusesEachRuleBroken) {
  struct Case {
    const char* name;
    void (*edit)(CertificateRequest&);
    const char* says;
  };
  const Case cases[] = {
      {"expired", [](CertificateRequest& r) { r.not_before_days = -30; r.days = 10; }, "expired"},
      {"not yet valid", [](CertificateRequest& r) { r.not_before_days = 5; }, "not valid yet"},
      {"a CA", [](CertificateRequest& r) { r.is_ca = true; }, "CA certificate"},
      // Either mark of a CA is enough: a CA:TRUE leaf without keyCertSign
      // (which OpenSSL's X509_check_ca lets pass), and keyCertSign on CA:FALSE.
      {"CA:TRUE with digitalSignature only", [](CertificateRequest& r) { r.is_ca = true; r.key_usage = "digitalSignature"; }, "basicConstraints CA:TRUE"},
      {"keyCertSign beside digitalSignature", [](CertificateRequest& r) { r.key_usage = "digitalSignature,keyCertSign"; }, "keyUsage keyCertSign"},
      {"keyCertSign only", [](CertificateRequest& r) { r.key_usage = "keyCertSign"; }, "lacks digitalSignature"},
      {"no keyUsage", [](CertificateRequest& r) { r.key_usage = "-"; }, "no keyUsage"},
      {"TLS server only", [](CertificateRequest& r) { r.extended_key_usage = "serverAuth"; }, "codeSigning"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto s = check_signer(make(with(c.edit)).cert, {});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Refused);
    EXPECT_NE(s.error().message.find(c.says), std::string::npos) << s.error().message;
  }
}

TEST(SignerPolicy, ExpiredIsAcceptedOnlyWithTheNamedOverride) {
  const Made old = make(with([](CertificateRequest& r) { r.not_before_days = -30; r.days = 10; }));
  SignerPolicy archive;
  archive.allow_expired = true;
  EXPECT_FALSE(check_signer(old.cert, {}).ok());
  EXPECT_TRUE(check_signer(old.cert, archive).ok());
}

TEST(SignerPolicy, RevokedKeyIdsAreRefusedForTheSignerAndItsChain) {
  const Made ca = make(with([](CertificateRequest& r) { r.is_ca = true; }));
  const Made leaf = make({}, &ca);
  SignerPolicy revoked_leaf;
  revoked_leaf.revoked_key_ids.push_back(leaf.cert.subject_key_id());
  EXPECT_FALSE(check_signer(leaf.cert, revoked_leaf).ok());
  SignerPolicy revoked_ca;
  revoked_ca.revoked_key_ids.push_back(ca.cert.subject_key_id());
  EXPECT_TRUE(check_signer(leaf.cert, revoked_ca).ok());
  auto chain = check_chain(leaf.cert, {ca.cert}, {}, revoked_ca);
  ASSERT_FALSE(chain.ok());
  EXPECT_NE(chain.error().message.find("revoked"), std::string::npos) << chain.error().message;
}

TEST(SignerPolicy, ChainsThroughIntermediatesGivenApart) {
  const Made root = make(with([](CertificateRequest& r) { r.is_ca = true; r.common_name = "root"; }));
  const Made mid = make(with([](CertificateRequest& r) { r.is_ca = true; r.common_name = "intermediate"; }), &root);
  const Made leaf = make({}, &mid);
  EXPECT_FALSE(check_chain(leaf.cert, {root.cert}, {}, {}).ok()) << "chained without its intermediate";
  EXPECT_TRUE(check_chain(leaf.cert, {root.cert}, {mid.cert}, {}).ok());
  EXPECT_TRUE(check_chain(leaf.cert, {mid.cert}, {}, {}).ok()) << "an intermediate given as --ca is an anchor";
}

TEST(SignerPolicy, LoadsRevocationListsOfKeyIdsAndCertificates) {
  const auto dir = test::temp_dir();
  const std::string ids = "# revoked signers\n0a0b:0c\n  ff00  # a comment\n\n";
  ASSERT_TRUE(write_file_atomic(dir / "ids.txt", std::span(reinterpret_cast<const std::uint8_t*>(ids.data()), ids.size())).ok());
  auto list = load_revoked((dir / "ids.txt").string());
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(*list, (std::vector<std::vector<std::uint8_t>>{{0x0a, 0x0b, 0x0c}, {0xff, 0x00}}));
  const std::string bad = "0a0g\n";
  ASSERT_TRUE(write_file_atomic(dir / "bad.txt", std::span(reinterpret_cast<const std::uint8_t*>(bad.data()), bad.size())).ok());
  EXPECT_FALSE(load_revoked((dir / "bad.txt").string()).ok());
  const Made m = make({});
  ASSERT_TRUE(m.cert.write_pem(dir / "revoked.pem").ok());
  auto from_pem = load_revoked((dir / "revoked.pem").string());
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(*from_pem, std::vector<std::vector<std::uint8_t>>{m.cert.subject_key_id()});
}

// The same rules in `verify` and `sign`.
TEST(SignerPolicy, VerifyAndSignApplyIt) {
  auto object = read_file(std::filesystem::path(BPFSIGN_CORPUS_DIR) / "isa_v1.bpf.o");
  ASSERT_TRUE(object.ok());
  const Made ca = make(with([](CertificateRequest& r) { r.is_ca = true; }));
  auto refused = bundle::sign_object(*object, "isa_v1.bpf.o", ca.key, ca.cert);
  ASSERT_FALSE(refused.ok()) << "signed with a CA certificate";
  EXPECT_NE(refused.error().message.find("CA certificate"), std::string::npos) << refused.error().message;

  const Made tls = make(with([](CertificateRequest& r) { r.extended_key_usage = "serverAuth"; }), &ca);
  // A bundle signed by a TLS-only leaf (made here without the sign-side check).
  const Made good = make({}, &ca);
  auto b = bundle::sign_object(*object, "isa_v1.bpf.o", good.key, good.cert);
  ASSERT_TRUE(b.ok()) << b.error().message;
  verify::Trust trust;
  trust.authorities.push_back(ca.cert);
  EXPECT_TRUE(verify::verify_bundle(*b, trust).ok());
  bundle::Bundle swapped = *b;
  swapped.signer_certificate = tls.cert.der();  // the policy is checked before any signature
  const auto report = verify::verify_bundle(swapped, trust);
  bool policy_failed = false;
  for (const auto& c : report.checks) policy_failed |= c.id == "signer_policy" && !c.ok;
  EXPECT_TRUE(policy_failed) << "a serverAuth-only leaf of the CA passed the signer policy";
}

}  // namespace
}  // namespace bpfsign::sign

namespace bpfsign::sign {
namespace {

TEST(SignerPolicy, APemFileWithADamagedCertificateIsRefusedWhole) {
  const auto dir = test::temp_dir();
  const Made a = make({}), b = make({});
  ASSERT_TRUE(a.cert.write_pem(dir / "a.pem").ok());
  ASSERT_TRUE(b.cert.write_pem(dir / "b.pem").ok());
  auto text_of = [](const std::filesystem::path& p) {
    auto bytes = read_file(p);
    return std::string(bytes->begin(), bytes->end());
  };
  std::string text = text_of(dir / "a.pem") + text_of(dir / "b.pem") + text_of(dir / "a.pem");
  const std::size_t second = text.find("-----BEGIN CERTIFICATE-----", 10);
  text[second + 40] = '!';  // the middle certificate's base64 damaged
  ASSERT_TRUE(write_file_atomic(dir / "list.pem", std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())).ok());
  auto all = Certificate::load_all(dir / "list.pem");
  ASSERT_FALSE(all.ok()) << "a damaged list was shortened instead of refused";
  EXPECT_FALSE(load_revoked((dir / "list.pem").string()).ok());
}

}  // namespace
}  // namespace bpfsign::sign
