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

namespace bpfsign::verify {

struct Trust {
  std::vector<sign::Certificate> certificates;  // the signer must be one of these (--cert)
  std::vector<sign::Certificate> authorities;   // or be issued by one of these (--ca)
};

// Trusted certificates and CAs read from files (PEM or DER).
Result<Trust> load_trust(const std::vector<std::string>& certificates, const std::vector<std::string>& authorities);

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
