// Signing and verifying bundles, against what the cryptography alone costs.
// A bundle of the largest corpus object (many_progs) and of the generated
// 1,000-program object, signed with an RSA-2048 key for every scheme.
// Each run reports, besides time, the work no verifier can skip: one RSA
// verification per signature and the bytes the digests must read (each
// signature's payload, the hash chain's map links, the manifest; the chain's
// instruction link shares the kernel-chained digest's pass). scripts/bench.sh
// prices that work with `openssl speed` measured in the same run and prints
// verification speed as a fraction of that bound.
#include <benchmark/benchmark.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/bundle/sign_object.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/common/value_area.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "bpfsign/sign/scheme.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"

namespace {

using namespace bpfsign;

struct Signer {
  sign::PrivateKey key;
  sign::Certificate cert;
};

const Signer& signer() {
  static const Signer s = [] {
    auto key = sign::PrivateKey::generate(sign::KeyAlgorithm::Rsa2048);
    if (!key) throw std::runtime_error(key.error().message);
    auto cert = sign::make_certificate(*key, {});
    if (!cert) throw std::runtime_error(cert.error().message);
    return Signer{std::move(key).value(), std::move(cert).value()};
  }();
  return s;
}

struct Subject {
  std::vector<std::uint8_t> object;
  loader::LoaderProgram loader;
  std::vector<std::uint8_t> bundle;  // serialized, signed for every scheme
  std::size_t signatures = 0;
  std::size_t digest_bytes = 0;  // what the signatures' digests, the chain links and the manifest digest cover
};

bundle::BuildRequest request(const Subject& s) { return {s.loader, s.object, "bench", signer().key, signer().cert}; }

const Subject& subject(int which) {
  static std::map<int, Subject> cache;
  if (auto it = cache.find(which); it != cache.end()) return it->second;
  const auto path = which == 0 ? std::filesystem::path(BPFSIGN_CORPUS_DIR) / "many_progs.bpf.o"
                               : std::filesystem::path(BPFSIGN_SCALE_DIR) / "progs_1000.bpf.o";
  Subject s;
  auto bytes = read_file(path);
  if (!bytes) throw std::runtime_error(bytes.error().message);
  s.object = std::move(bytes).value();
  auto model = object::read_object_file(path);
  if (!model) throw std::runtime_error(model.error().message);
  auto loader = loader::generate_loader(*model);
  if (!loader) throw std::runtime_error(loader.error().message);
  s.loader = std::move(loader).value();
  auto b = bundle::build_bundle(request(s));
  if (!b) throw std::runtime_error(b.error().message);
  s.bundle = bundle::serialize_bundle(*b);
  s.signatures = b->signatures.size();
  s.digest_bytes = b->manifest.size();  // authenticated through its digest in the metadata
  const Bytes maps[] = {b->metadata};
  for (const auto& sig : b->signatures) {
    s.digest_bytes += sign::signed_payload(sig.scheme, b->loader_for(sig.scheme), maps).size();
    // The chain's links: H(metadata), and H(instructions), which needs no
    // pass of its own: the kernel-chained digest runs over the same
    // instructions first, and one SHA-256 pass yields both.
    if (sig.scheme == sign::Scheme::HashChain) s.digest_bytes += value_area(b->metadata).size();
  }
  return cache.emplace(which, std::move(s)).first->second;
}

void report(benchmark::State& state, const Subject& s) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(s.bundle.size()));
  state.counters["bundle_bytes"] = static_cast<double>(s.bundle.size());
  state.counters["signatures"] = static_cast<double>(s.signatures);
  state.counters["digest_bytes"] = static_cast<double>(s.digest_bytes);
}

void BM_SignBundle(benchmark::State& state) {
  const Subject& s = subject(static_cast<int>(state.range(0)));
  const auto req = request(s);
  for (auto _ : state) {
    auto b = bundle::build_bundle(req);
    if (!b) {
      state.SkipWithError(b.error().message.c_str());
      return;
    }
    auto bytes = bundle::serialize_bundle(*b);
    benchmark::DoNotOptimize(bytes.data());
  }
  report(state, s);
}

// The user operation, as `bpfsign sign` runs it: the object's bytes read
// into the model, its loader generated, signed for every scheme.
void BM_SignObject(benchmark::State& state) {
  const Subject& s = subject(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto b = bundle::sign_object(s.object, "bench", signer().key, signer().cert);
    if (!b) {
      state.SkipWithError(b.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(b->signatures.data());
  }
  report(state, s);
}

// From the bundle's bytes to the verdict: parse, then every check.
void BM_VerifyBundle(benchmark::State& state) {
  const Subject& s = subject(static_cast<int>(state.range(0)));
  verify::Trust trust;
  trust.certificates.push_back(signer().cert);
  for (auto _ : state) {
    auto b = bundle::parse_bundle(s.bundle, "bench bundle");
    if (!b) {
      state.SkipWithError(b.error().message.c_str());
      return;
    }
    auto verdict = verify::verify_bundle(*b, trust);
    if (!verdict.ok()) {
      state.SkipWithError("bundle does not verify");
      return;
    }
    benchmark::DoNotOptimize(verdict.checks.data());
  }
  report(state, s);
}

// The cryptography a verifier cannot skip, done alone with OpenSSL the way
// `openssl speed` does it (one key set up once; SHA-256 over one buffer):
// one RSA-2048 verification per signature and SHA-256 over every byte the
// digests cover.
class CryptoFloor {
 public:
  explicit CryptoFloor(const Subject& s) : signatures_(s.signatures), data_(s.digest_bytes, 0x5a) {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    ctx_ = EVP_PKEY_CTX_new(key, nullptr);
    EVP_PKEY_free(key);
    md_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    std::size_t len = signature_.size();
    const Sha256 digest{};
    if (ctx_ == nullptr || md_ == nullptr || EVP_PKEY_sign_init(ctx_) != 1 || EVP_PKEY_CTX_set_signature_md(ctx_, md_) != 1 ||
        EVP_PKEY_sign(ctx_, signature_.data(), &len, digest.data(), digest.size()) != 1 || EVP_PKEY_verify_init(ctx_) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx_, md_) != 1) {
      throw std::runtime_error("OpenSSL set-up failed");
    }
  }
  ~CryptoFloor() {
    EVP_PKEY_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  CryptoFloor(const CryptoFloor&) = delete;
  CryptoFloor& operator=(const CryptoFloor&) = delete;

  bool run() {
    Sha256 digest{};
    unsigned int n = 0;
    if (EVP_Digest(data_.data(), data_.size(), digest.data(), &n, md_, nullptr) != 1) return false;
    const Sha256 signed_digest{};
    for (std::size_t i = 0; i < signatures_; ++i) {
      if (EVP_PKEY_verify(ctx_, signature_.data(), signature_.size(), signed_digest.data(), signed_digest.size()) != 1) return false;
    }
    return true;
  }

 private:
  std::size_t signatures_;
  std::vector<std::uint8_t> data_;
  EVP_PKEY_CTX* ctx_ = nullptr;
  EVP_MD* md_ = nullptr;
  std::array<std::uint8_t, 256> signature_{};
};

// Ours and the cryptographic floor in turn within each iteration, each
// timed on its own, so that this VM's slow phases hit both alike; the
// `fraction` counter (floor / ours, 1.0 is the bound) is what the target
// (at least 0.8) is judged by.
void BM_VerifyVsCryptoFloor(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  const Subject& s = subject(static_cast<int>(state.range(0)));
  verify::Trust trust;
  trust.certificates.push_back(signer().cert);
  CryptoFloor floor(s);
  Clock::duration ours{}, bound{};
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto b = bundle::parse_bundle(s.bundle, "bench bundle");
    const bool ok = b && verify::verify_bundle(*b, trust).ok();
    const auto t1 = Clock::now();
    const bool floor_ok = floor.run();
    const auto t2 = Clock::now();
    if (!ok || !floor_ok) {
      state.SkipWithError(ok ? "crypto floor failed" : "bundle does not verify");
      return;
    }
    ours += t1 - t0;
    bound += t2 - t1;
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["ours_us"] = std::chrono::duration<double, std::micro>(ours).count() / n;
  state.counters["crypto_us"] = std::chrono::duration<double, std::micro>(bound).count() / n;
  state.counters["fraction"] = static_cast<double>(bound.count()) / static_cast<double>(ours.count());
  report(state, s);
}

}  // namespace

BENCHMARK(BM_VerifyVsCryptoFloor)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SignBundle)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SignObject)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyBundle)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
