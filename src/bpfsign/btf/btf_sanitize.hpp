// Rewrites BTF kinds a kernel cannot parse into ones it can, as libbpf does
// before BTF_LOAD on older kernels (bpf_object__sanitize_btf). bpfsign's
// kernels (>= 6.18) parse every kind, so the default features change
// nothing; the rewrite exists for the kernel model and for tests.
#pragma once

#include "bpfsign/btf/btf.hpp"

namespace bpfsign::btf {

struct KernelBtfFeatures {
  bool func = true;         // FUNC, FUNC_PROTO (4.20)
  bool global_func = true;  // FUNC with global linkage (5.6)
  bool datasec = true;      // VAR, DATASEC (5.2)
  bool float_kind = true;   // FLOAT (5.13)
  bool decl_tag = true;     // DECL_TAG (5.16)
  bool type_tag = true;     // TYPE_TAG (5.17)
  bool enum64 = true;       // ENUM64 (6.0)
};

// Returns how many types were rewritten.
std::uint32_t sanitize_for_kernel(Btf& btf, const KernelBtfFeatures& features);

}  // namespace bpfsign::btf
