// SEC() names → program type, expected attach type, flags and how the
// program attaches, following libbpf's section-name conventions
// (libbpf.c section_defs[]; the newest libbpf's table, since bpfsign targets
// kernels >= 6.18).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bpfsign::object {

// How the runtime attaches a program of this section, if at all.
enum class AttachMethod : std::uint8_t {
  None,           // loaded only (socket filters, tc classifiers without tcx, ...)
  Kprobe, Kretprobe, KprobeMulti, KprobeSession, Ksyscall, Kretsyscall,
  Uprobe, Uretprobe, UprobeMulti, Usdt,
  Tracepoint, RawTracepoint,
  Trace,          // fentry, fexit, fmod_ret, tp_btf, freplace: a BPF_LINK_CREATE on the BTF target
  Lsm, Iter,
  Xdp, Tcx, Netkit, Cgroup, SkLookup, Netfilter, StructOps,
  kLast = StructOps,  // for range checks of serialised values
};
const char* attach_method_name(AttachMethod method);

struct SectionKind {
  std::uint32_t prog_type = 0;
  std::uint32_t expected_attach_type = 0;
  std::uint32_t prog_flags = 0;     // BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS
  bool attach_by_btf_id = false;    // the kernel needs attach_btf_id (fentry, lsm, iter, tp_btf, ...)
  AttachMethod attach = AttachMethod::None;
  std::string attach_target;        // the text after "prefix/", e.g. "sched/sched_switch"
  std::string_view rule;            // the matching table entry, e.g. "tp+"
};

// nullopt when no rule matches: the section is not a program libbpf would
// load (the reader reports it).
std::optional<SectionKind> classify_section(std::string_view section_name);

}  // namespace bpfsign::object
