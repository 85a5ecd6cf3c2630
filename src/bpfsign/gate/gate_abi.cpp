#include "bpfsign/gate/gate_abi.hpp"

namespace bpfsign::gate {

extern const std::uint8_t kGateObject[];
extern const std::size_t kGateObjectSize;

Bytes gate_object() { return Bytes(kGateObject, kGateObjectSize); }

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::Off: return "off";
    case Mode::Audit: return "audit";
    case Mode::Enforce: return "enforce";
  }
  return "?";
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Program: return "program";
    case Kind::Map: return "map";
    case Kind::Btf: return "btf";
    case Kind::Self: return "gate";
  }
  return "?";
}

const char* decision_name(Decision decision) {
  switch (decision) {
    case Decision::Admitted: return "admitted";
    case Decision::Refused: return "refused";
    case Decision::WouldRefuse: return "would-refuse";
  }
  return "?";
}

const char* rule_name(Rule rule) {
  switch (rule) {
    case Rule::None: return "none";
    case Rule::Signed: return "signed";
    case Rule::SignedNoVerdict: return "signed-no-verdict";
    case Rule::KeyringNotAdmitted: return "keyring-not-admitted";
    case Rule::Unsigned: return "unsigned";
    case Rule::UnsignedAdmitted: return "unsigned-admitted";
    case Rule::InnerAdmitted: return "inner-admitted";
    case Rule::InnerNoLoader: return "inner-no-loader";
    case Rule::TypeNotAdmitted: return "type-not-admitted";
    case Rule::Self: return "self-protection";
    case Rule::LoadersFull: return "loaders-full";
  }
  return "?";
}

}  // namespace bpfsign::gate
