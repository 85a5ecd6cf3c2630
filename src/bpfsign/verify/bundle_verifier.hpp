// Offline verification of a bundle, everything a kernel of any generation
// would check and more: the signer's certificate against a trusted
// certificate or CA, every signature over exactly what its scheme covers,
// each link of the hash chain, the metadata hash the loader-checked loader
// embeds, and the manifest digest that ends the metadata. Each check is
// reported on its own, so a failure says which link broke.
#pragma once

#include <string>
#include <vector>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/sign/keys.hpp"
#include "bpfsign/sign/signer_policy.hpp"

namespace bpfsign::verify {

struct Trust {
  std::vector<sign::Certificate> certificates;   // the signer must be one of these (--cert)
  std::vector<sign::Certificate> authorities;    // or chain to one of these (--ca)
  std::vector<sign::Certificate> intermediates;  // through these where needed (--chain)
  sign::SignerPolicy policy;                     // what the signer must be (--revoked, --allow-expired-signer)
};

// What the command line names: files of certificates (PEM with one or
// more, or DER), of revoked key ids, and the archive override.
struct TrustFiles {
  std::vector<std::string> certificates;
  std::vector<std::string> authorities;
  std::vector<std::string> intermediates;
  std::vector<std::string> revoked;
  bool allow_expired = false;
};
Result<Trust> load_trust(const TrustFiles& files);

// Which trust options are given, from the files named or the certificates
// read (the same rules apply before and after reading).
struct TrustShape {
  bool certificates = false, authorities = false, intermediates = false, revoked = false, allow_expired = false;
};
TrustShape shape_of(const Trust& trust);
TrustShape shape_of(const TrustFiles& files);

// Trust options that cannot be used as given are a usage error, never
// silently dropped: --revoked, --chain and --allow-expired-signer shape a
// verification against --cert or --ca, so they need one; --chain supplies
// intermediates towards a --ca, so it needs --ca.
Status check_trust_options(const TrustShape& given);

struct Check {
  std::string id;      // stable key for --json
  std::string what;    // for people
  bool ok = false;
  std::string detail;
};

struct VerifyReport {
  std::string signer_subject;
  std::string signer_key_id;  // hex
  std::string signer_key;     // "RSA 2048-bit"
  std::vector<Check> checks;
  bool ok() const;
};

VerifyReport verify_bundle(const bundle::Bundle& bundle, const Trust& trust);

}  // namespace bpfsign::verify
