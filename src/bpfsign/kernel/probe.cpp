#include "bpfsign/kernel/probe.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/isa/encode.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/release.hpp"

namespace bpfsign::kernel {

namespace {

std::string errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case EACCES: return "EACCES";
    case EBADMSG: return "EBADMSG";
    case ENOKEY: return "ENOKEY";
    case EKEYREJECTED: return "EKEYREJECTED";
    case ENOPKG: return "ENOPKG";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOSYS: return "ENOSYS";
    default: return fmt::format("errno {}", err);
  }
}

std::string describe(const KernelFailure& e) {
  return fmt::format("{} ({}: {})", e.command, errno_name(e.err), std::strerror(e.err));
}

// r0 = 0; exit — the smallest program the verifier accepts.
std::vector<std::uint8_t> return_zero() {
  return isa::encode_program({isa::Alu{isa::AluOp::Mov, true, isa::Reg{0}, isa::Imm{0}}, isa::Exit{}});
}

// What a loader is: a sleepable BPF_PROG_TYPE_SYSCALL program.
ProgLoadRequest loader_request(std::span<const std::uint8_t> insns) {
  ProgLoadRequest req;
  req.prog_type = abi::prog_type::kSyscall;
  req.prog_flags = abi::kProgFlagSleepable;
  req.insns = insns;
  req.name = "bpfsign_probe";
  return req;
}

ProbeItem probe_syscall() {
  abi::MapCreateAttr attr;
  attr.map_type = abi::map_type::kArray;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 1;
  auto fd = map_create(attr);
  if (auto* e = fd.kernel_failure()) {
    return {"bpf_syscall", "bpf(2) usable by this process", Support::No, describe(*e)};
  }
  return {"bpf_syscall", "bpf(2) usable by this process", Support::Yes, "created an array map"};
}

ProbeItem probe_btf() {
  const bool has = std::filesystem::exists("/sys/kernel/btf/vmlinux");
  return {"kernel_btf", "kernel BTF (/sys/kernel/btf/vmlinux)", has ? Support::Yes : Support::No,
          has ? "present" : "absent: CO-RE and kfunc resolution need it"};
}

// A loader is a sleepable BPF_PROG_TYPE_SYSCALL program run with BPF_PROG_RUN.
ProbeItem probe_loader_program() {
  const auto insns = return_zero();
  auto fd = prog_load(loader_request(insns));
  if (auto* e = fd.kernel_failure()) {
    return {"loader_program", "sleepable syscall programs (loaders)", Support::No, describe(*e)};
  }
  std::array<std::uint8_t, 8> ctx{};
  auto run = prog_test_run(fd.value().get(), ctx);
  if (auto* e = run.kernel_failure()) {
    return {"loader_program", "sleepable syscall programs (loaders)", Support::No, "loaded, but " + describe(*e)};
  }
  return {"loader_program", "sleepable syscall programs (loaders)", Support::Yes,
          fmt::format("loaded and ran (returned {})", run.value().retval)};
}

// Exclusive maps (6.18): only the program whose SHA-256 is excl_prog_hash may use the map.
ProbeItem probe_exclusive_map() {
  const Sha256 some_program = sha256(return_zero());
  abi::MapCreateAttr attr;
  attr.map_type = abi::map_type::kArray;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 1;
  attr.excl_prog_hash = reinterpret_cast<std::uintptr_t>(some_program.data());
  attr.excl_prog_hash_size = static_cast<std::uint32_t>(some_program.size());
  auto fd = map_create(attr);
  if (auto* e = fd.kernel_failure()) {
    return {"exclusive_map", "exclusive maps (excl_prog_hash)", Support::No, describe(*e)};
  }
  return {"exclusive_map", "exclusive maps (excl_prog_hash)", Support::Yes, "created an exclusive array map"};
}

// The kernel computes a frozen array map's SHA-256 for BPF_OBJ_GET_INFO_BY_FD.
// We compare it with our own hash of the value area, and check that an
// unfrozen map's hash is refused (CVE-2026-45927).
ProbeItem probe_map_hash() {
  const char* id = "map_hash";
  const char* what = "frozen-map SHA-256 (bpf_map_info.hash)";
  constexpr std::uint32_t kValueSize = 12;  // not a multiple of 8: shows whether padding is hashed
  abi::MapCreateAttr attr;
  attr.map_type = abi::map_type::kArray;
  attr.key_size = 4;
  attr.value_size = kValueSize;
  attr.max_entries = 1;
  auto fd = map_create(attr);
  if (auto* e = fd.kernel_failure()) return {id, what, Support::Unknown, describe(*e)};
  const int map_fd = fd.value().get();
  const std::uint32_t key = 0;
  std::array<std::uint8_t, kValueSize> value{};
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::uint8_t>(0xb0 + i);
  if (auto r = map_update(map_fd, &key, value.data()); !r.ok()) {
    return {id, what, Support::Unknown, r.error().message};
  }
  std::array<std::uint8_t, abi::kSha256Size> hash{};
  auto before = map_info(map_fd, &hash);
  std::string unfrozen;
  if (auto* e = before.kernel_failure()) {
    unfrozen = fmt::format("unfrozen map refused ({})", errno_name(e->err));
  } else {
    unfrozen = "WARNING: hash of an unfrozen map was given (CVE-2026-45927 not fixed)";
  }
  if (auto r = map_freeze(map_fd); !r.ok()) {
    return {id, what, Support::Unknown, r.error().message};
  }
  hash.fill(0);
  auto after = map_info(map_fd, &hash);
  if (auto* e = after.kernel_failure()) return {id, what, Support::No, describe(*e) + "; " + unfrozen};
  std::array<std::uint8_t, 16> padded{};  // round_up(12, 8) bytes
  std::memcpy(padded.data(), value.data(), value.size());
  if (hash == sha256(padded)) {
    return {id, what, Support::Yes, "equals SHA-256 of round_up(value_size, 8) * max_entries bytes; " + unfrozen};
  }
  if (hash == sha256(value)) return {id, what, Support::Yes, "equals SHA-256 of the unpadded value; " + unfrozen};
  return {id, what, Support::Unknown, "kernel hash " + to_hex(hash) + " matches neither padded nor unpadded value"};
}

// A syscall program with a signature that is not PKCS#7: the errno tells
// whether this kernel verifies signatures at all (docs/kernels.md).
ProbeItem probe_signature(bool& checks) {
  const char* id = "signature_verification";
  const char* what = "signature verification (BPF_PROG_LOAD signature)";
  checks = false;
  const auto insns = return_zero();
  const std::array<std::uint8_t, 8> not_pkcs7{0x30, 0x03, 0x02, 0x01, 0x00, 0xde, 0xad, 0x00};
  ProgLoadRequest req = loader_request(insns);
  req.signature = not_pkcs7;
  req.keyring_id = 0;
  auto fd = prog_load(req);
  auto* e = fd.kernel_failure();
  if (e == nullptr) return {id, what, Support::Unknown, "WARNING: a malformed signature was accepted"};
  switch (e->err) {
    case EOPNOTSUPP:
      return {id, what, Support::No, "EOPNOTSUPP: kernel built without CONFIG_SYSTEM_DATA_VERIFICATION; every signed load fails"};
    case E2BIG:
      return {id, what, Support::No, "E2BIG: kernel predates signed BPF programs (6.18)"};
    case EBADMSG:
      checks = true;
      return {id, what, Support::Yes, "EBADMSG: kernel parsed and refused a malformed PKCS#7 signature"};
    default:
      return {id, what, Support::Unknown, describe(*e)};
  }
}

std::string summarize(const FeatureProbe& p) {
  auto yes = [&](const char* id) {
    const ProbeItem* i = p.find(id);
    return i != nullptr && i->state == Support::Yes;
  };
  if (!yes("bpf_syscall")) return "This process cannot use bpf(2): nothing can be loaded here (run as root or with CAP_BPF).";
  std::string s;
  s += yes("loader_program") ? "This kernel runs loader programs. " : "This kernel cannot run loader programs. ";
  if (p.checks_signatures) {
    s += "It verifies signatures on BPF_PROG_LOAD; which scheme it enforces (loader-checked or kernel-chained) "
         "is found with a signed probe (bpfsign load, docs/signing.md).";
  } else {
    s += "It does NOT verify signatures: a signed load is refused, and anything loaded here is checked by "
         "no signature - only the offline verification of a bundle can vouch for it.";
  }
  if (yes("exclusive_map") && yes("map_hash")) s += " Exclusive maps and frozen-map hashes work.";
  return s;
}

}  // namespace

const char* to_string(Support s) {
  switch (s) {
    case Support::Yes: return "yes";
    case Support::No: return "no";
    case Support::Unknown: return "unknown";
  }
  return "unknown";
}

const ProbeItem* FeatureProbe::find(const std::string& id) const {
  for (const auto& i : items) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

FeatureProbe probe_features() {
  FeatureProbe p;
  p.release = running_release().release;
  p.items.push_back(probe_syscall());
  p.items.push_back(probe_btf());
  if (p.items.front().state == Support::Yes) {
    p.items.push_back(probe_loader_program());
    p.items.push_back(probe_exclusive_map());
    p.items.push_back(probe_map_hash());
    p.items.push_back(probe_signature(p.checks_signatures));
  }
  p.summary = summarize(p);
  return p;
}

}  // namespace bpfsign::kernel
