// The signer policy: what a certificate must be for bpfsign to accept the
// signatures it makes, the same for `verify`, `load --offline-verified`,
// `load --cert/--ca` and `sign` (docs/signing.md#signer-policy). The kernel
// checks none of it: it only asks whether the key that verifies the
// signature is in the keyring it was given.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/sign/keys.hpp"

namespace bpfsign::sign {

struct SignerPolicy {
  // Checked at this time (0: now). An archive of old bundles is verified
  // with `allow_expired` instead: validity is then not checked, and the
  // report says so.
  std::time_t at = 0;
  bool allow_expired = false;
  // Revoked signers, by subjectKeyIdentifier: a signer, or a certificate of
  // its chain, whose key id is here is refused.
  std::vector<std::vector<std::uint8_t>> revoked_key_ids;
};

// The signer certificate's own rules: within its validity; keyUsage present
// with digitalSignature; not a CA (basicConstraints CA:TRUE, keyCertSign);
// an extendedKeyUsage, when present, names codeSigning; not revoked.
Status check_signer(const Certificate& signer, const SignerPolicy& policy);

// `signer` chains to one of `anchors` (trust anchors: a certificate given
// as --ca, which may itself be an intermediate), through `intermediates`
// where needed; every certificate of the chain within validity (unless
// allow_expired) and none revoked. The signer's own rules are
// check_signer's.
Status check_chain(const Certificate& signer, const std::vector<Certificate>& anchors, const std::vector<Certificate>& intermediates,
                   const SignerPolicy& policy);

// Revoked key ids from a file: certificates (PEM), or lines of hex key ids
// ('#' starts a comment).
Result<std::vector<std::vector<std::uint8_t>>> load_revoked(const std::string& path);

}  // namespace bpfsign::sign
