// bpfsign reproduce: proves that a bundle's loader and metadata are exactly
// what bpfsign generates from a given object, or names the first
// difference in terms of the loader's parts ("create map 'counts'",
// "load program 'on_fork'") with the instructions or bytes on each side.
// Signatures are not compared (ECDSA draws randomness); verify checks them.
#pragma once

#include <string>
#include <vector>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"

namespace bpfsign::verify {

struct ReproduceReport {
  std::vector<Check> checks;  // one per compared part: source digest, manifest, metadata, each loader
  bool ok() const;
};

// `object` is the object file's bytes, `name` its name for messages.
Result<ReproduceReport> reproduce(Bytes object, const std::string& name, const bundle::Bundle& bundle);

}  // namespace bpfsign::verify
