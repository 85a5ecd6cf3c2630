#include "bpfsign/load/kernel_probe.hpp"

#include <algorithm>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/abi/bpf_map_layout.hpp"
#include "bpfsign/btf/btf.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/isa/encode.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/keyring.hpp"
#include "bpfsign/sign/keys.hpp"
#include "bpfsign/sign/pkcs7.hpp"

#include <cerrno>

namespace bpfsign::load {

Result<std::pair<std::optional<sign::Scheme>, std::string>> loader_check_from_btf(Bytes data) {
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
  const bool sha_ok = (sha->offset & 0xffffff) == 8u * static_cast<std::uint32_t>(abi::bpf_map::kShaOffset) &&
                      b.kind(sha_type) == btf::Kind::Array && b.array(sha_type).nelems == abi::bpf_map::kShaSize;
  if (!sha_ok) return std::pair{std::optional<sign::Scheme>{}, std::string("struct bpf_map's sha[] is not u8[32] at offset 0")};
  if (excl && excl->offset == 8u * static_cast<std::uint32_t>(abi::bpf_map::kExclOffset)) {
    return std::pair{std::optional<sign::Scheme>{sign::Scheme::LoaderChecked}, std::string("struct bpf_map: sha[32] at 0, excl at 32")};
  }
  return std::pair{std::optional<sign::Scheme>{sign::Scheme::LoaderCheckedHashOnly},
                   std::string("struct bpf_map: sha[32] at 0, no excl at 32 (the loader can check the hash only)")};
}

namespace {

// The probe loader: r1 = &metadata[0]; r0 = 0; exit. Bound to the map at
// fd_array[0] by index, as every bpfsign loader is.
std::vector<std::uint8_t> probe_loader() {
  return isa::encode_program({isa::LoadImm64{isa::Reg{1}, isa::PseudoSrc::MapIdxValue, 0, 0},
                              isa::Alu{isa::AluOp::Mov, true, isa::Reg{0}, isa::Imm{0}}, isa::Exit{}});
}

// Loads the probe loader signed for `scheme`; the errno, 0 on success.
int try_signed_probe(sign::Scheme scheme, const sign::PrivateKey& key, const sign::Certificate& cert, std::int32_t keyring) {
  const auto code = probe_loader();
  const Sha256 digest = sha256(code);
  const std::vector<std::uint8_t> value(8, 0x5a);
  abi::MapCreateAttr attr;
  attr.map_type = abi::map_type::kArray;
  attr.key_size = 4;
  attr.value_size = static_cast<std::uint32_t>(value.size());
  attr.max_entries = 1;
  attr.excl_prog_hash = reinterpret_cast<std::uintptr_t>(digest.data());
  attr.excl_prog_hash_size = static_cast<std::uint32_t>(digest.size());
  auto map = kernel::map_create(attr);
  if (!map) return map.error().kernel_errno();
  const int fd = map.value().get();
  const std::uint32_t k = 0;
  std::array<std::uint8_t, abi::kSha256Size> hash{};
  if (auto r = kernel::map_update(fd, &k, value.data()); !r) return r.error().kernel_errno();
  if (auto r = kernel::map_freeze(fd); !r) return r.error().kernel_errno();
  if (auto r = kernel::map_info(fd, &hash); !r) return r.error().kernel_errno();
  const Bytes maps[] = {value};
  auto sig = sign::sign_detached(key, cert, sign::signed_payload(scheme, code, maps));
  if (!sig) return EINVAL;
  kernel::ProgLoadRequest req;
  req.prog_type = abi::prog_type::kSyscall;
  req.prog_flags = abi::kProgFlagSleepable;
  req.insns = code;
  req.name = "bpfsign_probe";
  const int fd_array[] = {fd};
  req.fd_array = fd_array;
  req.set_fd_array_cnt = sign::scheme_info(scheme).sets_fd_array_cnt;
  req.signature = *sig;
  req.keyring_id = keyring;
  auto prog = kernel::prog_load(req);
  if (!prog) return prog.error().kernel_errno();
  return 0;
}

}  // namespace

std::string bpf_map_layout(Bytes data, std::size_t count) {
  auto parsed = btf::Btf::parse(data);
  if (!parsed) return "unreadable BTF";
  auto id = parsed->find("bpf_map", btf::Kind::Struct);
  if (!id) return "no struct bpf_map";
  std::string out;
  const auto members = parsed->members(*id);
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string_view name = parsed->string_at(members[i].name_off);
    // The first members, and any later one about exclusivity or freezing.
    if (i >= count && name.find("excl") == std::string_view::npos && name.find("frozen") == std::string_view::npos) continue;
    if (!out.empty()) out += ' ';
    out += fmt::format("{}@{}", name, (members[i].offset & 0xffffff) / 8);
  }
  return out;
}

namespace {

// The scheme `p.features` leaves open, into `p`: from the kernel BTF at
// `vmlinux_btf` and, on a kernel that checks signatures, signed probes.
Status find_scheme(KernelProbe& p, const std::string& vmlinux_btf) {
  auto bytes = read_file(vmlinux_btf);
  if (!bytes) return bytes.error();
  p.map_layout = bpf_map_layout(*bytes);
  auto check = loader_check_from_btf(*bytes);
  if (!check) return check.error();
  const std::string layout = "struct bpf_map: " + bpf_map_layout(*bytes, 3);
  if (!p.checks_signatures()) {
    // Nothing to sign against: the loader-checked variant this kernel's
    // map layout allows is what runs (unsigned, after offline verification).
    p.scheme = check->first;
    p.scheme_evidence = "no signed probe possible (the kernel checks no signature); " + check->second;
    return Ok{};
  }
  auto key = sign::PrivateKey::generate(sign::KeyAlgorithm::EcdsaP256);
  if (!key) return key.error();
  sign::CertificateRequest req;
  req.common_name = "bpfsign scheme probe (throwaway)";
  req.days = 1;
  auto cert = sign::make_certificate(*key, req);
  if (!cert) return cert.error();
  // A keyring of this process only: it and the key vanish when we exit.
  auto keyring = kernel::new_process_keyring("bpfsign-probe");
  if (!keyring) return keyring.error();
  if (auto added = kernel::add_certificate(cert->der(), *keyring, ""); !added) return added.error();
  // EPERM comes after the signature check: a load whose signature fails
  // is refused before the LSM hook, with EKEYREJECTED, EBADMSG or ENOKEY;
  // EPERM is an LSM (a load gate, docs/gate.md) refusing the throwaway
  // key's program once the kernel verified its signature.
  auto accepted = [](int err) { return err == 0 || err == EPERM; };
  auto lsm_note = [](int err) { return err == EPERM ? " (then an LSM refused the probe itself: EPERM)" : ""; };
  // Two probes from the scheme table's try order: the first scheme (its
  // signature covers the maps too), then the first that signs the
  // instructions alone, which stands for every loader-checked variant (the
  // map layout picks among them).
  const std::vector<sign::Scheme> order = sign::schemes_in_try_order();
  const sign::Scheme maps_probe = order.front();
  const sign::Scheme insns_probe =
      *std::find_if(order.begin(), order.end(), [](sign::Scheme s) { return sign::scheme_info(s).content == sign::SignedContent::Instructions; });
  const int chained = try_signed_probe(maps_probe, *key, *cert, *keyring);
  if (accepted(chained)) {
    p.scheme = maps_probe;
    p.scheme_evidence = fmt::format("the kernel accepted a probe signed over instructions and map contents (kernel-chained){}; {}",
                                    lsm_note(chained), layout);
    return Ok{};
  }
  const int insns_only = try_signed_probe(insns_probe, *key, *cert, *keyring);
  if (accepted(insns_only)) {
    p.scheme = check->first;
    p.scheme_evidence = fmt::format("the kernel accepted a probe signed over instructions only (loader-checked; the chained probe got errno {}){}; {}",
                                    chained, lsm_note(insns_only), check->second);
    return Ok{};
  }
  p.scheme_evidence = fmt::format("the kernel refused both signed probes (chained: errno {}, instructions only: errno {}); {}", chained,
                                  insns_only, layout);
  return Ok{};
}

}  // namespace

std::string KernelProbe::signature_evidence() const {
  const kernel::ProbeItem* item = features.find("signature_verification");
  return item != nullptr ? item->detail : std::string();
}

KernelProbe probe_kernel(const std::string& vmlinux_btf) {
  KernelProbe p;
  p.features = kernel::probe_features();
  if (auto found = find_scheme(p, vmlinux_btf); !found) {
    p.scheme.reset();
    p.scheme_error = found.error();
  }
  return p;
}

const KernelProbe& running_kernel() {
  static const KernelProbe probe = probe_kernel();  // probed once, thread-safe
  return probe;
}

}  // namespace bpfsign::load
