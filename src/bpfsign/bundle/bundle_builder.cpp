#include "bpfsign/bundle/bundle_builder.hpp"

#include <algorithm>

#include "bpfsign/loader/manifest.hpp"
#include "bpfsign/loader/metadata_check.hpp"
#include "bpfsign/sign/pkcs7.hpp"

namespace bpfsign::bundle {

Result<Bundle> build_bundle(const BuildRequest& req) {
  const loader::LoaderProgram& loader = req.loader;
  Bundle b;
  b.source_sha256 = sha256(req.object);
  b.source_name = req.source_name.substr(0, 4096);
  b.metadata = loader.blob;
  if (b.metadata.size() % 8 != 0) internal_error("loader blob is not a multiple of 8 bytes");
  b.manifest = loader::serialize_manifest(loader);
  std::vector<sign::Scheme> schemes = req.schemes;
  std::sort(schemes.begin(), schemes.end());
  schemes.erase(std::unique(schemes.begin(), schemes.end()), schemes.end());
  if (schemes.empty()) return bad_input("no signature scheme requested");
  b.loader_plain = loader.code;  // always: the runtime and reproduce start from it
  for (sign::Scheme scheme : schemes) {  // each other loader a requested scheme signs
    std::vector<std::uint8_t>& code = b.loader(sign::scheme_info(scheme).loader);
    if (code.empty()) code = loader::encode_loader(loader, sign::scheme_info(scheme).loader);
  }
  const Bytes maps[] = {b.metadata};
  for (sign::Scheme scheme : schemes) {
    const auto payload = sign::signed_payload(scheme, b.loader_for(scheme), maps);
    auto der = sign::sign_detached(req.key, req.cert, payload);
    if (!der) return der.error().with_context(fmt::format("{} signature", sign::scheme_name(scheme)));
    if (auto ok = sign::check_kernel_rules(*der, req.cert); !ok) return ok.error().with_context("the signature just made");
    b.signatures.push_back({scheme, std::move(der).value()});
    if (sign::scheme_info(scheme).content == sign::SignedContent::ChainTop) {
      const auto links = sign::hash_chain(b.loader_plain, maps);
      b.chain = ChainLinkRecord{links.insns, links.maps, links.top};
    }
  }
  b.signer_key_id = req.cert.subject_key_id();
  b.signer_certificate = req.cert.der();
  return b;
}

namespace {

// The manifest's digest is checked against the metadata's last bytes before
// the manifest is parsed: an altered manifest is refused without a parse.
Status read_manifest(const Bundle& b, loader::LoaderProgram& out) {
  if (!loader::manifest_digest_matches(b.metadata, b.manifest)) {
    return bad_input("the manifest's SHA-256 is not the one at the end of the metadata: manifest or metadata altered");
  }
  return loader::parse_manifest(b.manifest, out);
}

}  // namespace

Status check_manifest(const Bundle& b) {
  loader::LoaderProgram parsed;  // parsed in full, as a load would; then dropped
  return read_manifest(b, parsed);
}

Result<loader::LoaderProgram> loader_from_bundle(const Bundle& b, sign::Scheme scheme) {
  loader::LoaderProgram out;
  if (auto ok = read_manifest(b, out); !ok) return ok.error();
  const auto& code = b.loader_for(scheme);
  if (code.empty()) return bad_input("bundle has no loader for the {} scheme", sign::scheme_name(scheme));
  out.code = code;
  out.blob = b.metadata;
  return out;
}

}  // namespace bpfsign::bundle
