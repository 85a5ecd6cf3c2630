// The load decision as a table of cases, without root or a kernel: what the
// kernel probe found × the user's trust options × the bundle → a plan (who
// checks what, which bytes go to the kernel) or a refusal and its reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "bpfsign/bundle/sign_object.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/loader/manifest.hpp"

namespace bpfsign::load {
namespace {

using sign::Scheme;

struct Keys {
  sign::PrivateKey key;
  sign::Certificate cert;
};

const Keys& signer() {
  static const Keys k = [] {
    auto key = sign::PrivateKey::generate(sign::KeyAlgorithm::EcdsaP256);
    auto cert = sign::make_certificate(*key, {});
    return Keys{*key, *cert};
  }();
  return k;
}
const Keys& stranger() {
  static const Keys k = [] {
    auto key = sign::PrivateKey::generate(sign::KeyAlgorithm::EcdsaP256);
    sign::CertificateRequest r;
    r.common_name = "someone else";
    auto cert = sign::make_certificate(*key, r);
    return Keys{*key, *cert};
  }();
  return k;
}

bundle::Bundle signed_bundle(std::span<const Scheme> schemes = sign::kAllSchemes) {
  auto bytes = read_file(std::filesystem::path(BPFSIGN_CORPUS_DIR) / "global_data.bpf.o");
  EXPECT_TRUE(bytes.ok());
  auto b = bundle::sign_object(*bytes, "global_data.bpf.o", signer().key, signer().cert, schemes);
  EXPECT_TRUE(b.ok()) << b.error().message;
  return std::move(b).value();
}

enum class BundleKind { Full, KernelChainedOnly, MetadataAltered, ManifestAltered, SignatureGarbage };
enum class Cert { None, Signer, Stranger };

struct Case {
  const char* name;
  bool kernel_checks;
  std::optional<Scheme> kernel_scheme;
  Cert cert = Cert::None;
  bool offline_flag = false;
  bool keyring = true;
  BundleKind bundle = BundleKind::Full;
  const char* refusal = nullptr;  // substring of the refusal; null: a plan
  bool kernel_verifies = false;
  bool offline_verified = false;
  std::vector<std::string> checks;  // ids, in order
};

// gtest names a case by its name (not by its bytes, which include padding).
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"loader-checked kernel, keyring", true, Scheme::LoaderChecked, Cert::None, false, true, BundleKind::Full, nullptr, true, false,
       {"kernel-signature", "metadata-hash", "loader-metadata-check", "manifest-digest"}},
      {"hash-only kernel, keyring", true, Scheme::LoaderCheckedHashOnly, Cert::None, false, true, BundleKind::Full, nullptr, true, false,
       {"kernel-signature", "metadata-hash", "loader-metadata-check", "manifest-digest"}},
      {"kernel-chained kernel, keyring", true, Scheme::KernelChained, Cert::None, false, true, BundleKind::Full, nullptr, true, false,
       {"kernel-signature", "manifest-digest"}},
      {"checking kernel, no keyring", true, Scheme::LoaderChecked, Cert::None, false, false, BundleKind::Full, "--keyring", false, false, {}},
      {"checking kernel, --cert of the signer", true, Scheme::KernelChained, Cert::Signer, false, true, BundleKind::Full, nullptr, true,
       true, {"offline-verification", "kernel-signature", "manifest-digest"}},
      {"checking kernel, --cert of another signer", true, Scheme::KernelChained, Cert::Stranger, false, true, BundleKind::Full,
       "offline verification failed", false, false, {}},
      {"checking kernel, --cert of another signer, loader-checked", true, Scheme::LoaderChecked, Cert::Stranger, true, true,
       BundleKind::Full, "offline verification failed", false, false, {}},
      {"--offline-verified without --cert", true, Scheme::LoaderChecked, Cert::None, true, true, BundleKind::Full,
       "--offline-verified needs --cert or --ca", false, false, {}},
      {"non-checking kernel, no --offline-verified", false, Scheme::LoaderChecked, Cert::None, false, false, BundleKind::Full,
       "does not check signatures", false, false, {}},
      {"non-checking kernel, --cert but no --offline-verified", false, Scheme::LoaderChecked, Cert::Signer, false, false,
       BundleKind::Full, "does not check signatures", false, false, {}},
      {"non-checking kernel, --offline-verified --cert", false, Scheme::LoaderChecked, Cert::Signer, true, false, BundleKind::Full,
       nullptr, false, true, {"offline-verification", "metadata-hash", "loader-metadata-check", "manifest-digest"}},
      {"non-checking kernel, --offline-verified --cert, keyring unused", false, Scheme::KernelChained, Cert::Signer, true, true,
       BundleKind::Full, nullptr, false, true, {"offline-verification", "manifest-digest"}},
      {"non-checking kernel, --offline-verified --cert of another", false, Scheme::LoaderChecked, Cert::Stranger, true, false,
       BundleKind::Full, "offline verification failed", false, false, {}},
      {"kernel without a known scheme", true, std::nullopt, Cert::None, false, true, BundleKind::Full, "no signed-loader scheme", false, false, {}},
      {"hash-chain kernel", true, Scheme::HashChain, Cert::None, false, true, BundleKind::Full, "no kernel implements", false, false, {}},
      {"bundle lacking the kernel's signature", true, Scheme::LoaderChecked, Cert::None, false, true, BundleKind::KernelChainedOnly,
       "no loader-checked signature", false, false, {}},
      {"metadata altered, loader-checked", true, Scheme::LoaderChecked, Cert::None, false, true, BundleKind::MetadataAltered,
       "metadata altered", false, false, {}},
      {"metadata altered, hash-only", true, Scheme::LoaderCheckedHashOnly, Cert::None, false, true, BundleKind::MetadataAltered,
       "metadata altered", false, false, {}},
      // The kernel verifies the metadata with the instructions: the plan
      // stands, and the kernel refuses it (the qemu matrix shows it).
      {"metadata altered, kernel-chained", true, Scheme::KernelChained, Cert::None, false, true, BundleKind::MetadataAltered, nullptr,
       true, false, {"kernel-signature", "manifest-digest"}},
      {"metadata altered, kernel-chained, --cert", true, Scheme::KernelChained, Cert::Signer, false, true, BundleKind::MetadataAltered,
       "offline verification failed", false, false, {}},
      {"manifest altered", true, Scheme::KernelChained, Cert::None, false, true, BundleKind::ManifestAltered, "manifest", false, false, {}},
      {"signature not PKCS#7", true, Scheme::KernelChained, Cert::None, false, true, BundleKind::SignatureGarbage, "signature", false, false, {}},
  };
  return c;
}

bundle::Bundle bundle_of(BundleKind kind) {
  static const bundle::Bundle full = signed_bundle();
  bundle::Bundle b = full;
  switch (kind) {
    case BundleKind::Full: break;
    case BundleKind::KernelChainedOnly: {
      const Scheme only[] = {Scheme::KernelChained};
      b = signed_bundle(only);
      break;
    }
    case BundleKind::MetadataAltered: b.metadata[b.metadata.size() / 2] ^= 0x40; break;  // not the digest at its end
    case BundleKind::ManifestAltered: b.manifest[b.manifest.size() / 2] ^= 0x01; break;
    case BundleKind::SignatureGarbage:
      for (auto& s : b.signatures) s.der.assign(64, 0x30);
      break;
  }
  return b;
}

class LoadPlanTable : public ::testing::TestWithParam<Case> {};

TEST_P(LoadPlanTable, DecidesAsTheTableSays) {
  const Case& c = GetParam();
  KernelProbe kernel;
  kernel.features.checks_signatures = c.kernel_checks;
  kernel.scheme = c.kernel_scheme;
  kernel.features.items.push_back({"signature_verification", "signature verification",
                                   c.kernel_checks ? kernel::Support::Yes : kernel::Support::No, "test kernel"});
  TrustOptions trust;
  trust.offline_verified = c.offline_flag;
  if (c.cert == Cert::Signer) trust.trust.certificates.push_back(signer().cert);
  if (c.cert == Cert::Stranger) trust.trust.certificates.push_back(stranger().cert);
  if (c.keyring) trust.keyring = 123456;
  const bundle::Bundle b = bundle_of(c.bundle);
  auto plan = plan_bundle_load(b, "app.bundle", kernel, trust);
  if (c.refusal != nullptr) {
    ASSERT_FALSE(plan.ok()) << "planned, but should refuse with '" << c.refusal << "'";
    EXPECT_NE(plan.error().message.find(c.refusal), std::string::npos) << plan.error().message;
    return;
  }
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->scheme, c.kernel_scheme);
  EXPECT_EQ(plan->kernel_verifies_signature, c.kernel_verifies);
  EXPECT_EQ(plan->offline_verified, c.offline_verified);
  std::vector<std::string> ids;
  for (const auto& k : plan->checks) ids.push_back(k.id);
  EXPECT_EQ(ids, c.checks);
  // What goes to the kernel: the scheme's own loader and signature, the
  // keyring given, or no signature at all where the kernel checks none.
  EXPECT_EQ(plan->loader_code, b.loader_for(*c.kernel_scheme));
  EXPECT_EQ(plan->metadata, b.metadata);
  if (c.kernel_verifies) {
    EXPECT_EQ(plan->signature, b.signature_for(*c.kernel_scheme)->der);
    EXPECT_EQ(plan->keyring_id, 123456);
  } else {
    EXPECT_TRUE(plan->signature.empty());
    if (c.keyring) {
      EXPECT_FALSE(plan->notes.empty()) << "a --keyring that is not used must be said";
    }
  }
  // The sentence says who checked: never "kernel verified" where it did not.
  EXPECT_EQ(plan->checked_by().find("the kernel verified") != std::string::npos, c.kernel_verifies) << plan->checked_by();
  EXPECT_EQ(plan->checked_by().find("offline") != std::string::npos, c.offline_verified) << plan->checked_by();
}

INSTANTIATE_TEST_SUITE_P(Cases, LoadPlanTable, ::testing::ValuesIn(cases()), [](const auto& test_case) {
  std::string n = test_case.param.name;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
});

// The plan owns every byte it hands the kernel: the bundle it came from can
// be gone (the CLI's bundle is, by the time the loader loads).
TEST(LoadPlan, OwnsItsBytesAfterTheBundleIsGone) {
  KernelProbe kernel;
  kernel.features.checks_signatures = true;
  kernel.scheme = Scheme::KernelChained;
  TrustOptions trust;
  trust.keyring = 7;
  std::vector<std::uint8_t> signature, code;
  std::optional<LoadPlan> plan;
  {
    const bundle::Bundle b = signed_bundle();
    signature = b.signature_for(Scheme::KernelChained)->der;
    code = b.loader_for(Scheme::KernelChained);
    auto p = plan_bundle_load(b, "app.bundle", kernel, trust);
    ASSERT_TRUE(p.ok()) << p.error().message;
    plan = std::move(p).value();
  }
  EXPECT_EQ(plan->signature, signature);
  EXPECT_EQ(plan->loader_code, code);
}

// What the runtime reads (the manifest) is parsed only when authenticated;
// altered metadata is refused before, whatever the plan said.
TEST(LoadPlan, AuthenticatedLoaderRefusesBytesChangedAfterTheDecision) {
  KernelProbe kernel;
  kernel.features.checks_signatures = true;
  kernel.scheme = Scheme::LoaderChecked;
  TrustOptions trust;
  trust.keyring = 7;
  auto plan = plan_bundle_load(signed_bundle(), "app.bundle", kernel, trust);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto good = authenticated_loader(*plan);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_FALSE(good->programs.empty());
  LoadPlan metadata = *plan;
  metadata.metadata[10] ^= 1;
  EXPECT_FALSE(authenticated_loader(metadata).ok());
  LoadPlan manifest = *plan;
  manifest.manifest[manifest.manifest.size() - 1] ^= 1;
  auto refused = authenticated_loader(manifest);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("manifest's SHA-256"), std::string::npos) << refused.error().message;
}

// Sizes no kconfig type can have are refused by the manifest parser.
TEST(Manifest, RefusesKconfigSizesNoTypeCanHave) {
  struct Bad {
    object::KconfigType type;
    std::uint32_t size;
  };
  for (const Bad bad : {Bad{object::KconfigType::CharArray, 0}, Bad{object::KconfigType::Int, 8192}, Bad{object::KconfigType::Int, 3},
                        Bad{object::KconfigType::Bool, 2}, Bad{object::KconfigType::Tristate, 8}, Bad{object::KconfigType::None, 1}}) {
    loader::LoaderProgram l;
    l.context.kconfig_size = 16384;
    l.kconfig.push_back({"CONFIG_X", bad.type, false, false, 0, bad.size});
    const auto m = loader::serialize_manifest(l);
    loader::LoaderProgram out;
    auto parsed = loader::parse_manifest(m, out);
    EXPECT_FALSE(parsed.ok()) << object::kconfig_type_name(bad.type) << " of " << bad.size << " bytes accepted";
  }
  loader::LoaderProgram l;
  l.context.kconfig_size = 16;
  l.kconfig.push_back({"CONFIG_HZ", object::KconfigType::Int, false, false, 0, 8});
  l.kconfig.push_back({"CONFIG_S", object::KconfigType::CharArray, false, false, 8, 8});
  loader::LoaderProgram out;
  EXPECT_TRUE(loader::parse_manifest(loader::serialize_manifest(l), out).ok());
}

}  // namespace
}  // namespace bpfsign::load

namespace bpfsign::load {
namespace {

// Options that shape the offline verification are never dropped: without
// --cert or --ca there is no offline verification for them to shape.
TEST(LoadPlan, RevokedOrChainWithoutACertificateIsAUsageError) {
  KernelProbe kernel;
  kernel.features.checks_signatures = true;
  kernel.scheme = Scheme::KernelChained;
  for (int which = 0; which < 3; ++which) {
    TrustOptions trust;
    trust.keyring = 7;
    if (which == 0) trust.trust.policy.revoked_key_ids.push_back({1, 2, 3});
    if (which == 1) trust.trust.intermediates.push_back(signer().cert);
    if (which == 2) trust.trust.policy.allow_expired = true;
    auto plan = plan_bundle_load(signed_bundle(), "app.bundle", kernel, trust);
    ASSERT_FALSE(plan.ok()) << which;
    EXPECT_EQ(plan.error().kind, ErrorKind::Usage) << plan.error().message;
  }
}

}  // namespace
}  // namespace bpfsign::load
