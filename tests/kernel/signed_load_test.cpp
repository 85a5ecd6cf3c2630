// Bundles on this machine's kernel (6.18.44: the loader-checked
// generation, no signature verification - KERNEL-FACTS §1). What this
// kernel can judge, it judges here for real: the loader-checked loader's
// own metadata check loads good metadata and refuses changed metadata and
// a metadata map that is not exclusive or not frozen; a load carrying a
// signature is refused because the kernel cannot check it. Signature
// verification itself is judged by the kernels under qemu (issue 6).
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

#include <filesystem>

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/probe.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/scheme_probe.hpp"
#include "bpfsign/object/object_reader.hpp"

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
  const auto path = std::filesystem::path(BPFSIGN_CORPUS_DIR) / (stem + ".bpf.o");
  static const auto key = sign::PrivateKey::generate(sign::KeyAlgorithm::EcdsaP256);
  static const auto cert = sign::make_certificate(*key, {});
  auto bytes = read_file(path);
  auto model = object::read_object_file(path);
  EXPECT_TRUE(model.ok());
  auto loader = loader::generate_loader(*model);
  EXPECT_TRUE(loader.ok());
  bundle::BuildRequest req;
  req.loader = &*loader;
  req.object = *bytes;
  req.source_name = stem;
  req.key = &*key;
  req.cert = &*cert;
  auto b = bundle::build_bundle(req);
  EXPECT_TRUE(b.ok()) << b.error().message;
  return std::move(b).value();
}

Result<LoadedObject> run_checked(const bundle::Bundle& b, RunOptions options = {}) {
  auto l = bundle::loader_from_bundle(b, sign::Scheme::LoaderChecked);
  if (!l) return l.error();
  options.scheme = sign::Scheme::LoaderChecked;
  return run_loader(*l, options);
}

TEST(SchemeProbe, ThisKernelIsLoaderCheckedAndChecksNoSignature) {
  BPFSIGN_REQUIRE_LOADERS();
  auto p = probe_scheme();
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_TRUE(p->scheme.has_value()) << p->scheme_evidence;
  // Measured on 6.18.44 (KERNEL-FACTS §1, §3); another kernel reports what it is.
  if (*p->scheme != sign::Scheme::LoaderChecked) GTEST_SKIP() << "kernel of another generation: " << p->scheme_evidence;
  EXPECT_NE(p->scheme_evidence.find("excl at 32"), std::string::npos) << p->scheme_evidence;
  if (p->checks_signatures) GTEST_SKIP() << "this kernel checks signatures: the qemu matrix covers it";
  EXPECT_NE(p->signature_evidence.find("EOPNOTSUPP"), std::string::npos) << p->signature_evidence;
}

TEST(SignedLoad, LoaderCheckedLoadersOfTheCorpusLoadWithTheirMetadata) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  for (const char* stem : {"global_data", "subprogs", "maps_btf", "maps_legacy", "net_progs", "isa_v4", "many_progs", "core_reads"}) {
    SCOPED_TRACE(stem);
    const auto b = make_bundle(stem);
    auto loaded = run_checked(b);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    for (const auto& fd : loaded->programs) EXPECT_TRUE(std::holds_alternative<kernel::ProgInfo>(kernel::prog_info(fd.get())));
    EXPECT_FALSE(loaded->programs.empty());
  }
}

TEST(SignedLoad, KernelRunsTheLoadersMetadataCheckAndRefusesChangedMetadata) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  auto b = make_bundle("global_data");
  // A byte in the middle of the metadata (an initial value or an attr),
  // not the manifest digest at its end.
  b.metadata[b.metadata.size() / 2] ^= 0x40;
  const std::size_t before = test::open_fds();
  auto loaded = run_checked(b);
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
  auto b = make_bundle("subprogs");
  auto l = bundle::loader_from_bundle(b, sign::Scheme::LoaderCheckedHashOnly);
  ASSERT_TRUE(l.ok());
  RunOptions o;
  o.scheme = sign::Scheme::LoaderCheckedHashOnly;
  auto loaded = run_loader(*l, o);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  b.metadata[b.metadata.size() / 3] ^= 2;
  auto changed = bundle::loader_from_bundle(b, sign::Scheme::LoaderCheckedHashOnly);
  ASSERT_TRUE(changed.ok());
  auto refused = run_loader(*changed, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("refused its metadata"), std::string::npos) << refused.error().message;
}

TEST(SignedLoad, MetadataMapThatIsNotExclusiveIsRefusedByTheLoader) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  const auto b = make_bundle("subprogs");
  RunOptions o;
  o.exclusive_metadata = false;
  auto loaded = run_checked(b, o);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("not exclusive"), std::string::npos) << loaded.error().message;
}

TEST(SignedLoad, MetadataMapThatIsNotFrozenHasNoHashAndIsRefused) {
  BPFSIGN_REQUIRE_LOADERS();
  REQUIRE_LOADER_CHECKED_GENERATION();
  const auto b = make_bundle("subprogs");
  // The kernel refuses to hash an unfrozen map, so map->sha stays zero and
  // the loader's comparison fails.
  RunOptions o;
  o.freeze_metadata = false;
  auto loaded = run_checked(b, o);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("refused its metadata"), std::string::npos) << loaded.error().message;
}

TEST(SignedLoad, SignedLoadIsRefusedByAKernelThatCannotCheckIt) {
  BPFSIGN_REQUIRE_LOADERS();
  auto p = probe_scheme();
  ASSERT_TRUE(p.ok());
  if (p->checks_signatures) GTEST_SKIP() << "this kernel checks signatures: the qemu matrix covers it";
  const auto b = make_bundle("subprogs");
  RunOptions o;
  o.signature = b.signature_for(sign::Scheme::LoaderChecked)->der;
  o.keyring_id = 1;
  auto loaded = run_checked(b, o);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("errno 95"), std::string::npos) << loaded.error().message;  // EOPNOTSUPP
}

TEST(SignedLoad, HashChainIsNotSentToARealKernel) {
  const auto b = make_bundle("subprogs");
  auto l = bundle::loader_from_bundle(b, sign::Scheme::HashChain);
  ASSERT_TRUE(l.ok());
  RunOptions o;
  o.scheme = sign::Scheme::HashChain;
  auto loaded = run_loader(*l, o);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("no kernel implements"), std::string::npos);
}

}  // namespace
}  // namespace bpfsign::load
