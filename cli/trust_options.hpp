// The options that say whom to trust, the same for `verify` and `load`
// (docs/signing.md#signer-policy).
#pragma once

#include <CLI/CLI.hpp>

#include "bpfsign/verify/bundle_verifier.hpp"

namespace bpfsign::cli {

void add_trust_options(CLI::App* command, verify::TrustFiles& files);

inline bool trust_given(const verify::TrustFiles& files) { return !files.certificates.empty() || !files.authorities.empty(); }

}  // namespace bpfsign::cli
