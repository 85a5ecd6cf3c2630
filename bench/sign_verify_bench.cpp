// Signing and verifying bundles, against what the cryptography alone costs.
// A bundle of the largest corpus object (many_progs) and of the generated
// 1,000-program object, signed with an RSA-2048 key for every scheme.
// Each run reports, besides time, the work no verifier can skip: one RSA
// verification per signature and the bytes each signature's digest covers
// (the hash chain's instruction and map links included). scripts/bench.sh
// prices that work with `openssl speed` measured in the same run and prints
// verification speed as a fraction of that bound.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <stdexcept>

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/common/file_io.hpp"
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

bundle::BuildRequest request(const Subject& s) {
  bundle::BuildRequest req;
  req.loader = &s.loader;
  req.object = s.object;
  req.source_name = "bench";
  req.key = &signer().key;
  req.cert = &signer().cert;
  return req;
}

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
    if (sig.scheme == sign::Scheme::HashChain) s.digest_bytes += b->loader_plain.size() + sign::value_area(b->metadata).size();
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

}  // namespace

BENCHMARK(BM_SignBundle)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyBundle)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
