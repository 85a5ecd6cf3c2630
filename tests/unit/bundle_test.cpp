// Bundles: every corpus object signs into a bundle that reads back equal
// and verifies; generation is deterministic; the reader refuses every kind
// of damage with an error that says where; the verifier names the link
// that a change breaks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/isa/decode.hpp"
#include "bpfsign/loader/manifest.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"
#include "bpfsign/verify/reproduce.hpp"
#include "test_support.hpp"

namespace bpfsign::bundle {
namespace {

struct Signer {
  sign::PrivateKey key;
  sign::Certificate cert;
};

const Signer& signer(sign::KeyAlgorithm algorithm = sign::KeyAlgorithm::Rsa2048) {
  static std::map<sign::KeyAlgorithm, Signer> signers;
  auto it = signers.find(algorithm);
  if (it == signers.end()) {
    auto key = sign::PrivateKey::generate(algorithm);
    auto cert = sign::make_certificate(*key, {});
    it = signers.emplace(algorithm, Signer{std::move(key).value(), std::move(cert).value()}).first;
  }
  return it->second;
}

std::filesystem::path corpus(const std::string& stem) { return std::filesystem::path(BPFSIGN_CORPUS_DIR) / (stem + ".bpf.o"); }

Result<std::vector<std::uint8_t>> sign_object(const std::filesystem::path& path, const Signer& s = signer()) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  auto model = object::read_object_file(path);
  if (!model) return model.error();
  auto loader = loader::generate_loader(*model);
  if (!loader) return loader.error();
  auto b = build_bundle({*loader, *bytes, path.filename().string(), s.key, s.cert});
  if (!b) return b.error();
  return serialize_bundle(*b);
}

verify::Trust trusting(const Signer& s) { return verify::Trust{{s.cert}, {}, {}, {}}; }

std::vector<std::string> failed(const verify::VerifyReport& r) {
  std::vector<std::string> out;
  for (const auto& c : r.checks) {
    if (!c.ok) out.push_back(c.id);
  }
  return out;
}

TEST(Bundle, EveryCorpusObjectSignsReadsBackAndVerifies) {
  const auto objects = test::corpus_objects();
  if (objects.empty()) GTEST_SKIP() << "corpus not built";
  std::size_t signed_count = 0;
  for (const auto& path : objects) {
    SCOPED_TRACE(path.filename().string());
    auto bytes = sign_object(path);
    if (!bytes) {
      // Objects the generator refuses by name (e.g. module kfuncs) cannot be bundled either.
      EXPECT_EQ(bytes.error().kind, ErrorKind::BadInput) << bytes.error().message;
      continue;
    }
    ++signed_count;
    auto b = parse_bundle(*bytes, path.string());
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(serialize_bundle(*b), *bytes) << "serialise(parse(x)) != x";
    EXPECT_EQ(b->signatures.size(), 4u);  // one per scheme
    EXPECT_EQ(b->source_sha256, sha256(*read_file(path)));
    const auto report = verify::verify_bundle(*b, trusting(signer()));
    EXPECT_TRUE(report.ok()) << ::testing::PrintToString(failed(report));
    for (sign::Scheme s : sign::kAllSchemes) {
      auto l = loader_from_bundle(*b, s);
      ASSERT_TRUE(l.ok()) << l.error().message;
      EXPECT_TRUE(isa::decode_program(l->code).ok());
    }
  }
  EXPECT_GE(signed_count, 10u);
}

TEST(Bundle, GenerationIsDeterministic) {
  // RSA PKCS#1 v1.5 signatures are deterministic: whole bundles are equal.
  auto a = sign_object(corpus("subprogs"));
  auto b = sign_object(corpus("subprogs"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  // ECDSA draws a nonce: everything but the signatures is equal.
  const Signer& ec = signer(sign::KeyAlgorithm::EcdsaP256);
  auto c = parse_bundle(*sign_object(corpus("subprogs"), ec), "c");
  auto d = parse_bundle(*sign_object(corpus("subprogs"), ec), "d");
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_EQ(c->metadata, d->metadata);
  EXPECT_EQ(c->manifest, d->manifest);
  EXPECT_EQ(c->loader_plain, d->loader_plain);
  EXPECT_EQ(c->loader_checked, d->loader_checked);
  EXPECT_TRUE(verify::verify_bundle(*c, trusting(ec)).ok());
}

class Tamper : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bytes = sign_object(corpus("global_data"));
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    auto b = parse_bundle(*bytes, "global_data");
    ASSERT_TRUE(b.ok());
    bundle_ = std::move(b).value();
    ASSERT_TRUE(verify::verify_bundle(bundle_, trusting(signer())).ok());
  }
  std::vector<std::string> checks_failing_after(const std::function<void(Bundle&)>& change) {
    Bundle b = bundle_;
    change(b);
    return failed(verify::verify_bundle(b, trusting(signer())));
  }
  Bundle bundle_;
};

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

TEST_F(Tamper, MetadataByteBreaksEverySchemeButTheLoaderCheckedSignature) {
  // (chain_top still holds: the recorded links agree with each other, and
  // chain_maps names the link that no longer matches the contents.)
  // The loader-checked signature covers the instructions only; the changed
  // metadata is caught by the hash the loader embeds (and, on a kernel, by
  // the loader's own check).
  auto f = checks_failing_after([](Bundle& b) { b.metadata[100] ^= 1; });
  EXPECT_THAT(f, UnorderedElementsAre("loader_metadata_hash", "loader_hash_only_metadata_hash", "kernel-chained_signature",
                                      "hash-chain_signature", "chain_maps"));
}

TEST_F(Tamper, ManifestChangeIsCaughtThroughTheMetadata) {
  auto f = checks_failing_after([](Bundle& b) { b.manifest.back() ^= 1; });
  EXPECT_THAT(f, ElementsAre("manifest"));
}

TEST_F(Tamper, LoaderInstructionBreaksItsSignature) {
  auto plain = checks_failing_after([](Bundle& b) { b.loader_plain[8 * 20 + 4] ^= 1; });
  EXPECT_THAT(plain, Contains("kernel-chained_signature"));
  EXPECT_THAT(plain, Contains("hash-chain_signature"));
  EXPECT_THAT(plain, Contains("chain_insns"));
  EXPECT_THAT(plain, Contains("loader_metadata_hash")) << "the checked loader no longer ends with the plain one";
  auto checked = checks_failing_after([](Bundle& b) { b.loader_checked[b.loader_checked.size() - 12] ^= 1; });
  EXPECT_THAT(checked, UnorderedElementsAre("loader-checked_signature", "loader_metadata_hash"));
}

TEST_F(Tamper, SignatureByteAndSignerAreCaught) {
  auto f = checks_failing_after([](Bundle& b) { b.signatures[1].der[b.signatures[1].der.size() - 3] ^= 1; });
  EXPECT_THAT(f, ElementsAre("kernel-chained_signature"));
  Bundle b = bundle_;
  const auto other = sign::make_certificate(*sign::PrivateKey::generate(sign::KeyAlgorithm::Rsa2048), {});
  EXPECT_THAT(failed(verify::verify_bundle(b, verify::Trust{{*other}, {}, {}, {}})), ElementsAre("trust"));
  EXPECT_THAT(failed(verify::verify_bundle(b, verify::Trust{})), ElementsAre("trust"));
}

TEST_F(Tamper, EmbeddedHashNotMatchingTheMetadataIsNamed) {
  // A loader-checked loader re-signed around other metadata: signature fine,
  // embedded hash wrong.
  Bundle b = bundle_;
  b.metadata[200] ^= 1;
  auto l = loader_from_bundle(bundle_, sign::Scheme::LoaderChecked);
  ASSERT_TRUE(l.ok());
  const auto r = verify::verify_bundle(b, trusting(signer()));
  const auto it = std::find_if(r.checks.begin(), r.checks.end(), [](const auto& c) { return c.id == "loader_metadata_hash"; });
  ASSERT_NE(it, r.checks.end());
  EXPECT_FALSE(it->ok);
  EXPECT_NE(it->detail.find("embedded"), std::string::npos);
}

// --- the reader refuses damage, naming where ---

std::vector<std::uint8_t> good_bundle() {
  static const auto bytes = *sign_object(corpus("subprogs"));
  return bytes;
}

void expect_refused(const std::vector<std::uint8_t>& bytes, const std::string& fragment) {
  auto r = parse_bundle(bytes, "b.bundle");
  ASSERT_FALSE(r.ok()) << "accepted; expected: " << fragment;
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("b.bundle: ", 0), 0u) << r.error().message;
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
void put64(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v) { std::memcpy(b.data() + at, &v, 8); }

TEST(BundleReader, RefusesDamage) {
  if (test::corpus_objects().empty()) GTEST_SKIP() << "corpus not built";
  const auto good = good_bundle();
  ASSERT_TRUE(parse_bundle(good, "b.bundle").ok());
  auto b = good;
  b[0] = 'X';
  expect_refused(b, "bad magic");
  b = good;
  put32(b, 8, 2);
  expect_refused(b, "version 2 is not supported");
  b = good;
  b.push_back(0);
  expect_refused(b, "trailing bytes");
  b = good;
  put64(b, 16, good.size() + 8);
  expect_refused(b, "truncated");
  b = good;
  put32(b, 12, 1000);
  expect_refused(b, "1000 records");
  // First record (source) at offset 24.
  b = good;
  put32(b, 24, 99);
  expect_refused(b, "unknown record type 99");
  b = good;
  put32(b, 28, 1);
  expect_refused(b, "flags 0x1");
  b = good;
  put64(b, 32, ~std::uint64_t{0});
  expect_refused(b, "length");
  b = good;
  put64(b, 32, 0xfffffff0ull);
  expect_refused(b, "exceeds");
  // Source record body is 32 + name bytes; its padding follows.
  const std::uint64_t source_len = [&] {
    std::uint64_t v;
    std::memcpy(&v, good.data() + 32, 8);
    return v;
  }();
  if (source_len % 8 != 0) {
    b = good;
    b[40 + source_len] = 1;
    expect_refused(b, "non-zero padding");
  }
  // Second record: type changed to 1 (source again) -> out of order.
  const std::size_t second = 40 + ((source_len + 7) & ~std::uint64_t{7});
  b = good;
  put32(b, second, 1);
  expect_refused(b, "out of order or repeated");
}

TEST(BundleReader, EveryTruncationIsRefused) {
  if (test::corpus_objects().empty()) GTEST_SKIP() << "corpus not built";
  const auto good = good_bundle();
  for (std::size_t n = 0; n < good.size(); n += (n < 256 ? 1 : 61)) {
    std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(parse_bundle(cut, "cut").ok()) << "prefix of " << n << " bytes accepted";
  }
}

TEST(Reproduce, EveryCorpusBundleIsReproducedFromItsObject) {
  for (const char* stem : {"global_data", "subprogs", "maps_btf", "many_progs", "core_reads"}) {
    SCOPED_TRACE(stem);
    auto bytes = sign_object(corpus(stem));
    ASSERT_TRUE(bytes.ok());
    auto b = parse_bundle(*bytes, stem);
    ASSERT_TRUE(b.ok());
    auto r = verify::reproduce(*read_file(corpus(stem)), stem, *b);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->ok()) << ::testing::PrintToString(failed(verify::VerifyReport{"", "", "", r->checks}));
  }
}

TEST(Reproduce, TheFirstDifferenceIsNamedByLoaderPart) {
  auto b = parse_bundle(*sign_object(corpus("global_data")), "g");
  ASSERT_TRUE(b.ok());
  // A byte inside the first program's load: its attr or its instructions.
  auto model = object::read_object_file(corpus("global_data"));
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok());
  std::uint32_t program_start = 0;
  for (const auto& r : loader->blob_regions) {
    if (r.what.rfind("load program", 0) == 0) program_start = r.start;
  }
  ASSERT_NE(program_start, 0u);
  b->metadata[program_start + 16] ^= 1;
  auto r = verify::reproduce(*read_file(corpus("global_data")), "global_data", *b);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok());
  const auto it = std::find_if(r->checks.begin(), r->checks.end(), [](const auto& c) { return c.id == "metadata"; });
  ASSERT_NE(it, r->checks.end());
  EXPECT_NE(it->detail.find("load program 'use_globals'"), std::string::npos) << it->detail;
  // Another object is not the source.
  auto other = verify::reproduce(*read_file(corpus("subprogs")), "subprogs", *b);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->checks.front().ok);
}

TEST(Manifest, RoundTripsAndRefusesDamage) {
  auto model = object::read_object_file(corpus("global_data"));
  ASSERT_TRUE(model.ok());
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok());
  const auto bytes = loader::serialize_manifest(*loader);
  loader::LoaderProgram back;
  ASSERT_TRUE(loader::parse_manifest(bytes, back).ok());
  EXPECT_EQ(loader::serialize_manifest(back), bytes);
  EXPECT_EQ(back.maps, loader->maps);
  EXPECT_EQ(back.programs, loader->programs);
  EXPECT_EQ(back.context.size(), loader->context.size());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    loader::LoaderProgram cut;
    EXPECT_FALSE(loader::parse_manifest(Bytes(bytes).first(n), cut).ok()) << n;
  }
  auto bad = bytes;
  bad[4] = 9;
  loader::LoaderProgram x;
  EXPECT_NE(loader::parse_manifest(bad, x).error().message.find("version 9"), std::string::npos);
}

// Every truncation and most single-byte changes of a real manifest are
// refused by the one parser, with a message naming the field.
TEST(Manifest, TruncationsAndFlipsAreRefused) {
  auto model = object::read_object_file(corpus("many_progs"));
  ASSERT_TRUE(model.ok());
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok());
  const auto bytes = loader::serialize_manifest(*loader);
  loader::LoaderProgram intact;
  ASSERT_TRUE(loader::parse_manifest(bytes, intact).ok());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    loader::LoaderProgram parsed;
    const auto p = loader::parse_manifest(Bytes(bytes).first(n), parsed);
    ASSERT_FALSE(p.ok()) << "cut at " << n;
    EXPECT_EQ(p.error().message.rfind("manifest: ", 0), 0u) << p.error().message;
  }
  std::size_t refused = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto changed = bytes;
    changed[i] ^= 0xff;
    loader::LoaderProgram parsed;
    refused += loader::parse_manifest(changed, parsed).ok() ? 0u : 1u;
  }
  EXPECT_GT(refused, 100u);  // the flips reach the checks, not only names
}

}  // namespace
}  // namespace bpfsign::bundle
