// Bundles on this machine's kernel (6.18.44: the loader-checked
// generation, no signature verification - docs/kernels.md). What this
// kernel can judge, it judges here for real: the loader-checked loader's
// own metadata check loads good metadata and refuses changed metadata and
// a metadata map that is not exclusive or not frozen; a load carrying a
// signature is refused because the kernel cannot check it. Signature
// verification itself is judged by the kernels under qemu (issue 6).
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

#include <filesystem>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/bundle/sign_object.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/probe.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/kernel_probe.hpp"

namespace bpfsign::load {
namespace {

// Whether this kernel is of the loader-checked generation (its struct
// bpf_map has `excl` at 32); tests written for it skip elsewhere.
bool loader_checked_generation() {
  auto p = loader_check_from_btf(*read_file("/sys/kernel/btf/vmlinux"));
  return p.ok() && p->first == sign::Scheme::LoaderChecked;
}
#define REQUIRE_LOADER_CHECKED_GENERATION() \
  if (!loader_checked_generation()) GTEST_SKIP() << "not a kernel whose struct bpf_map has excl at 32"

bundle::Bundle make_bundle(const std::string& stem) {
  static const auto key = sign::PrivateKey::generate(sign::KeyAlgorithm::EcdsaP256);
  static const auto cert = sign::make_certificate(*key, {});
  auto bytes = read_file(std::filesystem::path(BPFSIGN_CORPUS_DIR) / (stem + ".bpf.o"));
  EXPECT_TRUE(bytes.ok());
  auto b = bundle::sign_object(*bytes, stem, *key, *cert);
  EXPECT_TRUE(b.ok()) << b.error().message;
  return std::move(b).value();
}

// The plan this kernel (which checks no signature) makes for `scheme` when
// the user vouches through offline verification; signed by make_bundle's key.
Result<LoadPlan> plan_for(const bundle::Bundle& b, sign::Scheme scheme) {
  KernelProbe kernel;
  kernel.features.checks_signatures = false;
  kernel.scheme = scheme;
  TrustOptions trust;
  trust.offline_verified = true;
  auto cert = sign::Certificate::from_der(b.signer_certificate, "signer");
  if (!cert) return cert.error();
  trust.trust.certificates.push_back(*cert);
  return plan_bundle_load(b, "test bundle", kernel, trust);
}

// The plan's loader and metadata as the kernel gets them, run with the
// context `manifest_of` describes: skips the runtime's own authentication,
// to show what the loader's in-kernel check does with altered metadata.
Result<LoadedObject> run_in_kernel(const LoadPlan& plan, const LoadPlan& manifest_of, RunOptions options = {}) {
  auto l = authenticated_loader(manifest_of);
  if (!l) return l.error();
  auto in_kernel = load_loader(plan, options);
  if (!in_kernel) return in_kernel.error();
  return run_loaded(*in_kernel, *l, options);
}

TEST(KernelProbe, ThisKernelIsLoaderCheckedAndChecksNoSignature) {
  BPFSIGN_REQUIRE_LOADERS();
  const KernelProbe& p = running_kernel();
  ASSERT_FALSE(p.scheme_error) << p.scheme_error->message;
  ASSERT_TRUE(p.scheme.has_value()) << p.scheme_evidence;
  // Measured on 6.18.44 (docs/kernels.md); another kernel reports what it is.
  if (*p.scheme != sign::Scheme::LoaderChecked) GTEST_SKIP() << "kernel of another generation: " << p.scheme_evidence;
  EXPECT_NE(p.scheme_evidence.find("excl at 32"), std::string::npos) << p.scheme_evidence;
  EXPECT_NE(p.map_layout.find("excl@32"), std::string::npos) << p.map_layout;
  if (p.checks_signatures()) GTEST_SKIP() << "this kernel checks signatures: the qemu matrix covers it";
  EXPECT_NE(p.signature_evidence().find("EOPNOTSUPP"), std::string::npos) << p.signature_evidence();
}

TEST(SignedLoad, LoaderCheckedLoadersOfTheCorpusLoadWithTheirMetadata) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  for (const char* stem : {"global_data", "subprogs", "maps_btf", "maps_legacy", "net_progs", "isa_v4", "many_progs", "core_reads"}) {
    SCOPED_TRACE(stem);
    const auto b = make_bundle(stem);
    auto plan = plan_for(b, sign::Scheme::LoaderChecked);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    auto loaded = execute_plan(*plan);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    for (const auto& fd : loaded->object.programs) EXPECT_TRUE(kernel::prog_info(fd.get()).ok());
    EXPECT_FALSE(loaded->object.programs.empty());
  }
}

TEST(SignedLoad, ChangedMetadataIsRefusedBeforeAnythingLoads) {
  const auto b = make_bundle("global_data");
  auto plan = plan_for(b, sign::Scheme::LoaderChecked);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  LoadPlan changed = *plan;
  changed.metadata[changed.metadata.size() / 2] ^= 0x40;
  auto l = authenticated_loader(changed);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message.find("metadata altered"), std::string::npos) << l.error().message;
}

TEST(SignedLoad, KernelRunsTheLoadersMetadataCheckAndRefusesChangedMetadata) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  const auto b = make_bundle("global_data");
  auto plan = plan_for(b, sign::Scheme::LoaderChecked);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  // A byte in the middle of the metadata (an initial value or an attr),
  // not the manifest digest at its end.
  LoadPlan changed = *plan;
  changed.metadata[changed.metadata.size() / 2] ^= 0x40;
  const std::size_t before = test::open_fds();
  auto loaded = run_in_kernel(changed, *plan);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("refused its metadata"), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("EKEYREJECTED"), std::string::npos) << loaded.error().message;
  EXPECT_EQ(test::open_fds(), before) << "a refused load left an fd open";
}

// The hash-only check (for 6.19 and 7.0, whose struct bpf_map has no
// `excl`) reads nothing but sha[]: it runs here too.
TEST(SignedLoad, HashOnlyLoaderLoadsAndRefusesChangedMetadata) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  const auto b = make_bundle("subprogs");
  auto plan = plan_for(b, sign::Scheme::LoaderCheckedHashOnly);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto loaded = execute_plan(*plan);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  LoadPlan changed = *plan;
  changed.metadata[changed.metadata.size() / 3] ^= 2;
  auto refused = run_in_kernel(changed, *plan);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("refused its metadata"), std::string::npos) << refused.error().message;
}

TEST(SignedLoad, MetadataMapThatIsNotExclusiveIsRefusedByTheLoader) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  const auto b = make_bundle("subprogs");
  auto plan = plan_for(b, sign::Scheme::LoaderChecked);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  RunOptions o;
  o.exclusive_metadata = false;
  auto loaded = execute_plan(*plan, o);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("not exclusive"), std::string::npos) << loaded.error().message;
}

TEST(SignedLoad, MetadataMapThatIsNotFrozenHasNoHashAndIsRefused) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  const auto b = make_bundle("subprogs");
  auto plan = plan_for(b, sign::Scheme::LoaderChecked);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  // The kernel refuses to hash an unfrozen map, so map->sha stays zero and
  // the loader's comparison fails.
  RunOptions o;
  o.freeze_metadata = false;
  auto loaded = execute_plan(*plan, o);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("refused its metadata"), std::string::npos) << loaded.error().message;
}

TEST(SignedLoad, SignedLoadIsRefusedByAKernelThatCannotCheckIt) {
  BPFSIGN_REQUIRE_LOADERS();
  const KernelProbe& p = running_kernel();
  ASSERT_FALSE(p.scheme_error);
  if (p.checks_signatures()) GTEST_SKIP() << "this kernel checks signatures: the qemu matrix covers it";
  const auto b = make_bundle("subprogs");
  auto plan = plan_for(b, sign::Scheme::LoaderChecked);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  plan->signature = b.signature_for(sign::Scheme::LoaderChecked)->der;
  plan->keyring_id = 1;
  auto loaded = execute_plan(*plan);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("errno 95"), std::string::npos) << loaded.error().message;  // EOPNOTSUPP
}

TEST(SignedLoad, HashChainIsNotSentToARealKernel) {
  const auto b = make_bundle("subprogs");
  auto plan = plan_for(b, sign::Scheme::HashChain);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("no kernel implements"), std::string::npos);
}

}  // namespace
}  // namespace bpfsign::load
