#include "bpfsign/load/scheme_probe.hpp"

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/kernel/probe.hpp"
#include "bpfsign/loader/metadata_check.hpp"

namespace bpfsign::load {

Result<std::pair<std::optional<sign::Scheme>, std::string>> scheme_from_btf(Bytes data) {
  auto parsed = btf::Btf::parse(data);
  if (!parsed) return parsed.error().with_context("kernel BTF");
  const btf::Btf& b = *parsed;
  auto id = b.find("bpf_map", btf::Kind::Struct);
  if (!id) return std::pair{std::optional<sign::Scheme>{}, std::string("kernel BTF has no struct bpf_map")};
  std::optional<btf::Member> sha, excl;
  for (const auto& m : b.members(*id)) {
    if (b.string_at(m.name_off) == "sha") sha = m;
    if (b.string_at(m.name_off) == "excl") excl = m;
  }
  if (!sha) return std::pair{std::optional<sign::Scheme>{}, std::string("struct bpf_map has no sha[]: kernel predates map hashes")};
  const std::uint32_t sha_type = b.skip_modifiers_and_typedefs(sha->type);
  const bool sha_ok = (sha->offset & 0xffffff) == 8u * static_cast<std::uint32_t>(loader::kMapShaOffset) &&
                      b.kind(sha_type) == btf::Kind::Array && b.array(sha_type).nelems == 32;
  if (!sha_ok) return std::pair{std::optional<sign::Scheme>{}, std::string("struct bpf_map's sha[] is not u8[32] at offset 0")};
  if (!excl) {
    return std::pair{std::optional<sign::Scheme>{sign::Scheme::KernelChained},
                     std::string("struct bpf_map: sha[32] at 0 and no excl field: the kernel checks map exclusivity and contents (7.3 generation)")};
  }
  if (excl->offset != 8u * static_cast<std::uint32_t>(loader::kMapExclOffset)) {
    return std::pair{std::optional<sign::Scheme>{},
                     fmt::format("struct bpf_map's excl is at bit {}, not at byte {} where the loader's check reads it", excl->offset,
                                 loader::kMapExclOffset)};
  }
  return std::pair{std::optional<sign::Scheme>{sign::Scheme::LoaderChecked},
                   std::string("struct bpf_map: sha[32] at 0, excl at 32: the loader checks its metadata (6.18-7.2 generation)")};
}

Result<SchemeProbe> probe_scheme(const std::string& vmlinux_btf) {
  SchemeProbe p;
  const kernel::KernelProbe k = kernel::probe_kernel();
  p.checks_signatures = k.checks_signatures;
  if (const auto* item = k.find("signature_verification")) p.signature_evidence = item->detail;
  auto bytes = read_file(vmlinux_btf);
  if (!bytes) return bytes.error();
  auto gen = scheme_from_btf(*bytes);
  if (!gen) return gen.error();
  p.scheme = gen->first;
  p.scheme_evidence = gen->second;
  return p;
}

}  // namespace bpfsign::load
