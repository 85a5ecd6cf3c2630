// Builds a signed bundle from a generated loader: both loader variants,
// one signature per requested scheme, the hash chain's links, the signer's
// identity. Deterministic apart from the signatures themselves (ECDSA and
// RSA-PSS draw randomness; PKCS#1 v1.5 RSA does not).
#pragma once

#include <string>
#include <vector>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/sign/keys.hpp"

namespace bpfsign::bundle {

// What a bundle is built from; the request refers to the caller's loader,
// object and key, which outlive the call.
struct BuildRequest {
  const loader::LoaderProgram& loader;
  Bytes object;             // the source object's bytes (hashed)
  std::string source_name;  // its file name, for people
  const sign::PrivateKey& key;
  const sign::Certificate& cert;
  std::vector<sign::Scheme> schemes{std::begin(sign::kAllSchemes), std::end(sign::kAllSchemes)};
};

Result<Bundle> build_bundle(const BuildRequest& request);

// The loader a runtime runs for `scheme`, rebuilt from a bundle: the
// manifest parsed, its digest checked against the metadata's last bytes.
Result<loader::LoaderProgram> loader_from_bundle(const Bundle& bundle, sign::Scheme scheme);
// The manifest's part of that: it parses, and its digest ends the metadata.
Status check_manifest(const Bundle& bundle);

}  // namespace bpfsign::bundle
