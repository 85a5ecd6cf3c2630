// The first user operation: a BPF object's bytes into a signed bundle. The
// object is read from the very bytes whose digest the bundle records, its
// loader generated, and the loader signed for each requested scheme. The
// CLI's `sign`, the tests, the VM matrix and the benchmarks all call this.
#pragma once

#include <span>
#include <string>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/loader/settings.hpp"
#include "bpfsign/sign/keys.hpp"
#include "bpfsign/sign/scheme.hpp"

namespace bpfsign::bundle {

// `source_name` names the object in errors and in the bundle's source
// record (its file name, for people; no signature covers it). `settings`:
// what the loading side may change (docs/settings.md), compiled into the
// loader and recorded in the manifest; empty, nothing is settable.
Result<Bundle> sign_object(Bytes object, const std::string& source_name, const sign::PrivateKey& key, const sign::Certificate& cert,
                           std::span<const sign::Scheme> schemes = sign::kAllSchemes, const loader::SettingsDeclaration& settings = {});

}  // namespace bpfsign::bundle
