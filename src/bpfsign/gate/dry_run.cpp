#include "bpfsign/gate/dry_run.hpp"

#include <algorithm>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"

namespace bpfsign::gate {

namespace {


struct Generation {
  const char* name;
  bool verdict;           // prog->aux->sig exists (7.2.6 and later)
  sign::Scheme schemes[2];  // the schemes that generation takes, preferred first
  const char* guarantee;
};

// docs/gate.md#per-kernel-generation says the same in prose.
constexpr Generation kGenerations[] = {
    {"6.18-7.2.5", false, {sign::Scheme::LoaderChecked, sign::Scheme::LoaderCheckedHashOnly},
     "no verdict: the gate admits the loader from the signature and keyring in the request (a load whose signature fails never "
     "reaches the hook); the kernel verified the loader's instructions only, and the loader checks the metadata's hash before it "
     "creates anything, so the inner loads the gate admits are the signed ones"},
    {"7.2.6-7.2", true, {sign::Scheme::LoaderChecked, sign::Scheme::LoaderCheckedHashOnly},
     "the kernel's verdict (VERIFIED, keyring) covers the loader's instructions; the loader checks the metadata before it creates "
     "anything, so the inner loads the gate admits are the signed ones"},
    {"7.3", true, {sign::Scheme::KernelChained, sign::Scheme::KernelChained},
     "the kernel's verdict covers the loader's instructions and its frozen exclusive metadata map, checked before the hook: the "
     "admission covers the maps too"},
};

bool admitted_type(std::uint64_t m, std::uint32_t t) { return t < 64 && ((m >> t) & 1) != 0; }

// Whether a signer of the policy admits the bundle's loader: a keyring
// signer when the load names its keyring (what that keyring holds is not
// known offline: the kernel checks it); a certificate signer when the
// bundle verifies against its certificates (start enrols exactly those
// into its keyring, which the load then names).
Result<bool> signer_admits(const Policy& p, const bundle::Bundle& b, const std::optional<std::string>& keyring) {
  for (const auto& s : p.signers) {
    if (!s.certificate.empty()) {
      auto certs = signer_certificates(s);
      if (!certs) return certs.error();
      verify::Trust trust;
      trust.certificates = std::move(certs).value();
      if (verify::verify_bundle(b, trust).ok()) return true;
    } else if (keyring && ((!s.keyring.empty() && s.keyring == *keyring) || (s.serial && std::to_string(*s.serial) == *keyring))) {
      return true;
    }
  }
  return false;
}

std::uint32_t number(const std::string& text) {
  std::uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0xffffffffu;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return v;
}

}  // namespace

Result<DryRun> dry_run(const Policy& policy, const bundle::Bundle& b, const std::optional<std::string>& keyring) {
  // What the signed loader creates, decoded from its instructions.
  const auto& code = b.loader_for(sign::Scheme::KernelChained).empty() ? b.loader_for(sign::Scheme::LoaderChecked)
                                                                       : b.loader_for(sign::Scheme::KernelChained);
  auto decoded = audit::decode_loader(code, b.metadata);
  if (!decoded) return decoded.error();
  if (!decoded->unexplained.empty()) return refusal("the bundle's loader holds code the decoder cannot explain: no decision is given for it");
  const std::uint64_t programs = mask_of(policy.program_types), maps = mask_of(policy.map_types);
  const Decision refused = policy.mode == Mode::Enforce ? Decision::Refused : Decision::WouldRefuse;
  auto admits = signer_admits(policy, b, keyring);
  if (!admits) return admits.error();
  DryRun out;
  for (const auto& g : kGenerations) {
    const bool loadable = !b.loader_for(g.schemes[0]).empty() || !b.loader_for(g.schemes[1]).empty();
    out.guarantees.emplace_back(g.name, g.guarantee);
    DryRunDecision loader{g.name, Kind::Program, "bpfsign_loader", true, "syscall", Decision::Admitted, Rule::None};
    if (!loadable) {
      loader.decision = refused;
      loader.rule = Rule::Unsigned;  // no signature this generation takes
    } else if (!*admits) {
      loader.decision = refused;
      loader.rule = Rule::KeyringNotAdmitted;
    } else {
      loader.rule = g.verdict ? Rule::Signed : Rule::SignedNoVerdict;
    }
    out.decisions.push_back(loader);
    const bool loader_in = loader.decision == Decision::Admitted;
    for (const auto& c : decoded->commands) {
      DryRunDecision d{g.name, Kind::Program, {}, false, {}, Decision::Admitted, Rule::InnerAdmitted};
      if (c.kind == "PROG_LOAD") {
        const std::uint32_t t = number(audit::command_field(c, "type"));
        d.name = audit::command_field(c, "name");
        d.type = abi::prog_type_name(t);
        if (!admitted_type(programs, t)) d.rule = Rule::TypeNotAdmitted;
      } else if (c.kind == "MAP_CREATE") {
        const std::uint32_t t = number(audit::command_field(c, "type"));
        d.kind = Kind::Map;
        d.name = audit::command_field(c, "name");
        d.type = abi::map_type_name(t);
        if (!admitted_type(maps, t)) d.rule = Rule::TypeNotAdmitted;
      } else if (c.kind == "BTF_LOAD") {
        d.kind = Kind::Btf;
      } else {
        continue;
      }
      // Inner loads are admitted only while an admitted loader runs; a
      // loader that was refused runs nothing.
      if (!loader_in) d.rule = Rule::InnerNoLoader;
      if (d.rule != Rule::InnerAdmitted) d.decision = refused;
      out.decisions.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace bpfsign::gate
