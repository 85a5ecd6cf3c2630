#include "bpfsign/verify/bundle_verifier.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/loader/metadata_check.hpp"
#include "bpfsign/sign/pkcs7.hpp"

namespace bpfsign::verify {

namespace {

// The metadata hash a loader-checked loader compares, read back from its
// instructions (loader::embedded_metadata_hash: the check must be exactly
// the one bpfsign emits for that hash), followed by the plain loader.
Result<Sha256> embedded_metadata_hash(const bundle::Bundle& b, const std::vector<std::uint8_t>& code, bool check_exclusive) {
  const auto embedded = loader::embedded_metadata_hash(code, check_exclusive);
  if (!embedded) return bad_input("the loader does not begin with bpfsign's metadata check");
  const Bytes body = Bytes(code).subspan(loader::metadata_check_bytes(check_exclusive));
  if (!std::equal(body.begin(), body.end(), b.loader_plain.begin(), b.loader_plain.end())) {
    return bad_input("after its metadata check, the loader-checked loader differs from the plain loader");
  }
  return *embedded;
}

}  // namespace

Result<Trust> load_trust(const TrustFiles& files) {
  Trust trust;
  for (auto [paths, out] : {std::pair{&files.certificates, &trust.certificates}, std::pair{&files.authorities, &trust.authorities},
                            std::pair{&files.intermediates, &trust.intermediates}}) {
    for (const auto& path : *paths) {
      auto certs = sign::Certificate::load_all(path);
      if (!certs) return certs.error();
      out->insert(out->end(), certs->begin(), certs->end());
    }
  }
  for (const auto& path : files.revoked) {
    auto ids = sign::load_revoked(path);
    if (!ids) return ids.error();
    trust.policy.revoked_key_ids.insert(trust.policy.revoked_key_ids.end(), ids->begin(), ids->end());
  }
  trust.policy.allow_expired = files.allow_expired;
  return trust;
}

TrustShape shape_of(const Trust& trust) {
  return {!trust.certificates.empty(), !trust.authorities.empty(), !trust.intermediates.empty(), !trust.policy.revoked_key_ids.empty(),
          trust.policy.allow_expired};
}

TrustShape shape_of(const TrustFiles& files) {
  return {!files.certificates.empty(), !files.authorities.empty(), !files.intermediates.empty(), !files.revoked.empty(), files.allow_expired};
}

Status check_trust_options(const TrustShape& given) {
  if (!given.certificates && !given.authorities && (given.revoked || given.intermediates || given.allow_expired)) {
    return usage_error("--revoked, --chain and --allow-expired-signer go with --cert or --ca (they shape bpfsign's offline verification)");
  }
  if (given.intermediates && !given.authorities) {
    return usage_error("--chain gives intermediates towards a --ca; with --cert alone they would not be used");
  }
  return Ok{};
}

bool VerifyReport::ok() const {
  return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

VerifyReport verify_bundle(const bundle::Bundle& b, const Trust& trust) {
  VerifyReport report;
  auto add = [&](std::string id, std::string what, bool ok, std::string detail) {
    report.checks.push_back({std::move(id), std::move(what), ok, std::move(detail)});
  };

  // A certificate byte-identical to a trusted one is that one: its parse is
  // reused (decoding a public key is most of a small bundle's verification).
  std::optional<sign::Certificate> trusted_copy;
  for (const auto& c : trust.certificates) {
    const auto& der = c.der();
    if (std::equal(der.begin(), der.end(), b.signer_certificate.begin(), b.signer_certificate.end())) trusted_copy = c;
  }
  auto cert = trusted_copy ? Result<sign::Certificate>(*trusted_copy) : sign::Certificate::from_der(b.signer_certificate, "signer certificate");
  if (!cert) {
    add("signer_certificate", "signer's certificate", false, cert.error().message);
    return report;
  }
  report.signer_subject = cert->subject();
  report.signer_key_id = to_hex(b.signer_key_id);
  report.signer_key = cert->public_key_description();
  const bool keyid_ok = cert->subject_key_id() == b.signer_key_id;
  add("signer_certificate", "signer's certificate and key id", keyid_ok,
      keyid_ok ? report.signer_subject : "the recorded key id is not the certificate's subjectKeyIdentifier");

  // The signer policy (sign/signer_policy.hpp): what the certificate must
  // be, whoever vouches for it.
  {
    auto policy = sign::check_signer(*cert, trust.policy);
    add("signer_policy", "signer certificate meets the signer policy", policy.ok(),
        policy ? (trust.policy.allow_expired ? "code signing leaf, not revoked; validity NOT checked (--allow-expired-signer)"
                                             : "within validity, digitalSignature, not a CA, code signing, not revoked")
               : policy.error().message);
  }

  // Trust: the signer is a given certificate, or chains to a given CA.
  {
    std::string detail = "no --cert or --ca given: nothing vouches for the signer";
    bool ok = false;
    if (trusted_copy) {
      ok = true;
      detail = "the signer's certificate is the trusted one";
    }
    if (!ok && !trust.authorities.empty()) {
      auto chained = sign::check_chain(*cert, trust.authorities, trust.intermediates, trust.policy);
      ok = chained.ok();
      detail = ok ? "chains to a trusted CA" : chained.error().message;
    } else if (!ok && !trust.certificates.empty()) {
      detail = "the signer's certificate is not the trusted one";
    }
    add("trust", "signer trusted", ok, detail);
  }

  // The manifest is covered through its digest at the end of the metadata.
  {
    auto manifest = bundle::check_manifest(b);
    add("manifest", "manifest digest ends the metadata", manifest.ok(),
        manifest ? "covered by every scheme's metadata check" : manifest.error().message);
  }

  // The chain's links are computed once: H(metadata) is also the hash the
  // loader-checked loaders embed, and T is what the hash-chain signature covers.
  // The instructions are hashed once for both the chain's first link and
  // the kernel-chained digest, which continues over the metadata.
  const Bytes padding = sign::value_area_padding(b.metadata);
  const Bytes maps[] = {b.metadata};
  Sha256Stream running;
  const sign::ChainLinks links = sign::hash_chain(running.update(b.loader_plain).digest(), maps);
  const Sha256 kernel_chained_hash = running.update(b.metadata).update(padding).digest();
  const Sha256 metadata_hash = links.maps.front();
  for (auto [id, code, exclusive] : {std::tuple{"loader_metadata_hash", &b.loader_checked, true},
                                      std::tuple{"loader_hash_only_metadata_hash", &b.loader_checked_hash_only, false}}) {
    if (code->empty()) continue;
    auto embedded = embedded_metadata_hash(b, *code, exclusive);
    const bool ok = embedded && *embedded == metadata_hash;
    add(id, fmt::format("hash embedded in the {} loader = SHA-256 of the metadata", exclusive ? "loader-checked" : "loader-checked-hash-only"), ok,
        !embedded ? embedded.error().message
                  : fmt::format("embedded {}, metadata {}", to_hex(*embedded), to_hex(metadata_hash)));
  }

  // Every digest first, then the signature checks back to back: the
  // public-key operations then run with their key material still in cache
  // (hashing 20 KB between two of them costs each a few microseconds).
  std::vector<Sha256> loader_hashes(b.signatures.size());
  for (std::size_t i = 0; i < b.signatures.size(); ++i) {
    const sign::Scheme scheme = b.signatures[i].scheme;
    if (scheme == sign::Scheme::LoaderChecked || scheme == sign::Scheme::LoaderCheckedHashOnly) {
      loader_hashes[i] = sha256(b.loader_for(scheme));
    }
  }

  bool chain_signature_verified = false;
  sign::SignatureVerifier verifier(*cert);
  for (std::size_t i = 0; i < b.signatures.size(); ++i) {
    const auto& s = b.signatures[i];
    const std::string name = sign::scheme_name(s.scheme);
    // What the scheme signs (sign::signed_payload), in parts: the chain's T;
    // the instructions and the metadata's value area; or the instructions.
    std::vector<Bytes> payload;
    const Sha256* known_hash = nullptr;
    switch (s.scheme) {
      case sign::Scheme::HashChain: payload = {Bytes(links.top)}; break;
      case sign::Scheme::KernelChained:
        payload = {b.loader_plain, b.metadata, padding};
        known_hash = &kernel_chained_hash;
        break;
      case sign::Scheme::LoaderChecked:
      case sign::Scheme::LoaderCheckedHashOnly:
        payload = {b.loader_for(s.scheme)};
        known_hash = &loader_hashes[i];
        break;
    }
    auto [rules, verified] = verifier.check(s.der, payload, known_hash);
    add(name + "_format", name + " signature in the form kernels accept", rules.ok(),
        rules ? "PKCS#7, detached, SHA-256, no signed attributes, signer by key id" : rules.error().message);
    if (s.scheme == sign::Scheme::HashChain) chain_signature_verified = verified.ok();
    std::string covers;
    switch (s.scheme) {
      case sign::Scheme::LoaderChecked:
      case sign::Scheme::LoaderCheckedHashOnly: covers = fmt::format("the {} loader instructions", b.loader_for(s.scheme).size() / 8); break;
      case sign::Scheme::KernelChained:
        covers = fmt::format("the {} loader instructions and the {}-byte metadata", b.loader_plain.size() / 8, b.metadata.size());
        break;
      case sign::Scheme::HashChain: covers = "the chain T over the instructions and the metadata"; break;
    }
    add(name + "_signature", name + " signature", verified.ok(), verified ? "verifies over " + covers : verified.error().message);
  }

  if (b.chain) {
    add("chain_insns", "chain link: SHA-256 of the instructions", b.chain->insns == links.insns, to_hex(b.chain->insns));
    const bool maps_ok = b.chain->maps == links.maps;
    add("chain_maps", "chain links: H(map) of each metadata map", maps_ok,
        maps_ok ? fmt::format("{} map(s)", links.maps.size()) : "a recorded map hash differs from the metadata's");
    const Sha256 top = sign::chain_top(b.chain->insns, b.chain->maps);
    add("chain_top", "chain top T recomputed from the links", top == b.chain->top, to_hex(b.chain->top));
    if (const auto* s = b.signature_for(sign::Scheme::HashChain)) {
      // When the recorded T is the recomputed one, the hash-chain signature
      // above was verified over exactly these bytes already.
      if (b.chain->top == links.top && chain_signature_verified) {
        add("chain_signature", "signature over the recorded T (what a kernel or LSM holding only the links checks)", true,
            "verifies (the recorded T is the recomputed one)");
      } else {
        auto v = sign::verify_detached(s->der, b.chain->top, *cert);
        add("chain_signature", "signature over the recorded T (what a kernel or LSM holding only the links checks)", v.ok(),
            v ? "verifies" : v.error().message);
      }
    }
  }
  return report;
}

}  // namespace bpfsign::verify
