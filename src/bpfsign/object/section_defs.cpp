#include "bpfsign/object/section_defs.hpp"

#include "bpfsign/abi/bpf_enums.hpp"

namespace bpfsign::object {

namespace {

namespace P = abi::prog_type;  // qualified: some names are both a program and an attach type

using namespace abi::attach_type;
constexpr std::uint32_t kNone = 0;  // no expected attach type

enum Flags : std::uint8_t { kPlain = 0, kBtf = 1, kSleepable = 2, kFrags = 4 };

struct Rule {
  std::string_view pattern;  // "x" exact, "x+" exact or "x/...", "x/" must have "/..."
  std::uint32_t prog_type;
  std::uint32_t attach_type;
  std::uint8_t flags;
  AttachMethod attach;
};

using M = AttachMethod;

// Order matters: the first matching rule wins, as in libbpf.
constexpr Rule kRules[] = {
    {"socket", P::kSocketFilter, kNone, kPlain, M::None},
    {"sk_reuseport/migrate", P::kSkReuseport, kSkReuseportSelectOrMigrate, kPlain, M::None},
    {"sk_reuseport", P::kSkReuseport, kSkReuseportSelect, kPlain, M::None},
    {"kprobe+", P::kKprobe, kNone, kPlain, M::Kprobe},
    {"uprobe+", P::kKprobe, kNone, kPlain, M::Uprobe},
    {"uprobe.s+", P::kKprobe, kNone, kSleepable, M::Uprobe},
    {"kretprobe+", P::kKprobe, kNone, kPlain, M::Kretprobe},
    {"uretprobe+", P::kKprobe, kNone, kPlain, M::Uretprobe},
    {"uretprobe.s+", P::kKprobe, kNone, kSleepable, M::Uretprobe},
    {"kprobe.multi+", P::kKprobe, kTraceKprobeMulti, kPlain, M::KprobeMulti},
    {"kretprobe.multi+", P::kKprobe, kTraceKprobeMulti, kPlain, M::KprobeMulti},
    {"kprobe.session+", P::kKprobe, kTraceKprobeSession, kPlain, M::KprobeSession},
    {"uprobe.multi+", P::kKprobe, kTraceUprobeMulti, kPlain, M::UprobeMulti},
    {"uretprobe.multi+", P::kKprobe, kTraceUprobeMulti, kPlain, M::UprobeMulti},
    {"uprobe.session+", P::kKprobe, kTraceUprobeSession, kPlain, M::UprobeMulti},
    {"uprobe.multi.s+", P::kKprobe, kTraceUprobeMulti, kSleepable, M::UprobeMulti},
    {"uretprobe.multi.s+", P::kKprobe, kTraceUprobeMulti, kSleepable, M::UprobeMulti},
    {"uprobe.session.s+", P::kKprobe, kTraceUprobeSession, kSleepable, M::UprobeMulti},
    {"ksyscall+", P::kKprobe, kNone, kPlain, M::Ksyscall},
    {"kretsyscall+", P::kKprobe, kNone, kPlain, M::Kretsyscall},
    {"usdt+", P::kKprobe, kNone, kPlain, M::Usdt},
    {"usdt.s+", P::kKprobe, kNone, kSleepable, M::Usdt},
    {"tc/ingress", P::kSchedCls, kTcxIngress, kPlain, M::Tcx},
    {"tc/egress", P::kSchedCls, kTcxEgress, kPlain, M::Tcx},
    {"tcx/ingress", P::kSchedCls, kTcxIngress, kPlain, M::Tcx},
    {"tcx/egress", P::kSchedCls, kTcxEgress, kPlain, M::Tcx},
    {"tc", P::kSchedCls, kNone, kPlain, M::None},
    {"classifier", P::kSchedCls, kNone, kPlain, M::None},
    {"action", P::kSchedAct, kNone, kPlain, M::None},
    {"netkit/primary", P::kSchedCls, kNetkitPrimary, kPlain, M::Netkit},
    {"netkit/peer", P::kSchedCls, kNetkitPeer, kPlain, M::Netkit},
    {"tracepoint+", P::kTracepoint, kNone, kPlain, M::Tracepoint},
    {"tp+", P::kTracepoint, kNone, kPlain, M::Tracepoint},
    {"tracepoint.s+", P::kTracepoint, kNone, kSleepable, M::Tracepoint},
    {"tp.s+", P::kTracepoint, kNone, kSleepable, M::Tracepoint},
    {"raw_tracepoint+", P::kRawTracepoint, kNone, kPlain, M::RawTracepoint},
    {"raw_tp+", P::kRawTracepoint, kNone, kPlain, M::RawTracepoint},
    {"raw_tracepoint.s+", P::kRawTracepoint, kNone, kSleepable, M::RawTracepoint},
    {"raw_tp.s+", P::kRawTracepoint, kNone, kSleepable, M::RawTracepoint},
    {"raw_tracepoint.w+", P::kRawTracepointWritable, kNone, kPlain, M::RawTracepoint},
    {"raw_tp.w+", P::kRawTracepointWritable, kNone, kPlain, M::RawTracepoint},
    {"tp_btf+", P::kTracing, kTraceRawTp, kBtf, M::Trace},
    {"tp_btf.s+", P::kTracing, kTraceRawTp, kBtf | kSleepable, M::Trace},
    {"fentry+", P::kTracing, kTraceFentry, kBtf, M::Trace},
    {"fmod_ret+", P::kTracing, kModifyReturn, kBtf, M::Trace},
    {"fexit+", P::kTracing, kTraceFexit, kBtf, M::Trace},
    {"fentry.s+", P::kTracing, kTraceFentry, kBtf | kSleepable, M::Trace},
    {"fmod_ret.s+", P::kTracing, kModifyReturn, kBtf | kSleepable, M::Trace},
    {"fexit.s+", P::kTracing, kTraceFexit, kBtf | kSleepable, M::Trace},
    {"freplace+", P::kExt, kNone, kBtf, M::Trace},
    {"lsm+", P::kLsm, kLsmMac, kBtf, M::Lsm},
    {"lsm.s+", P::kLsm, kLsmMac, kBtf | kSleepable, M::Lsm},
    {"lsm_cgroup+", P::kLsm, kLsmCgroup, kBtf, M::Cgroup},
    {"iter+", P::kTracing, kTraceIter, kBtf, M::Iter},
    {"iter.s+", P::kTracing, kTraceIter, kBtf | kSleepable, M::Iter},
    {"syscall", P::kSyscall, kNone, kSleepable, M::None},
    {"xdp.frags/devmap", P::kXdp, kXdpDevmap, kFrags, M::None},
    {"xdp/devmap", P::kXdp, kXdpDevmap, kPlain, M::None},
    {"xdp.frags/cpumap", P::kXdp, kXdpCpumap, kFrags, M::None},
    {"xdp/cpumap", P::kXdp, kXdpCpumap, kPlain, M::None},
    {"xdp.frags", P::kXdp, kXdp, kFrags, M::Xdp},
    {"xdp", P::kXdp, kXdp, kPlain, M::Xdp},
    {"perf_event", P::kPerfEvent, kNone, kPlain, M::None},
    {"lwt_in", P::kLwtIn, kNone, kPlain, M::None},
    {"lwt_out", P::kLwtOut, kNone, kPlain, M::None},
    {"lwt_xmit", P::kLwtXmit, kNone, kPlain, M::None},
    {"lwt_seg6local", P::kLwtSeg6local, kNone, kPlain, M::None},
    {"sockops", P::kSockOps, kCgroupSockOps, kPlain, M::Cgroup},
    {"sk_skb/stream_parser", P::kSkSkb, kSkSkbStreamParser, kPlain, M::None},
    {"sk_skb/stream_verdict", P::kSkSkb, kSkSkbStreamVerdict, kPlain, M::None},
    {"sk_skb/verdict", P::kSkSkb, kSkSkbVerdict, kPlain, M::None},
    {"sk_skb", P::kSkSkb, kNone, kPlain, M::None},
    {"sk_msg", P::kSkMsg, kSkMsgVerdict, kPlain, M::None},
    {"lirc_mode2", P::kLircMode2, kLircMode2, kPlain, M::None},
    {"flow_dissector", P::kFlowDissector, kFlowDissector, kPlain, M::None},
    {"cgroup_skb/ingress", P::kCgroupSkb, kCgroupInetIngress, kPlain, M::Cgroup},
    {"cgroup_skb/egress", P::kCgroupSkb, kCgroupInetEgress, kPlain, M::Cgroup},
    {"cgroup/skb", P::kCgroupSkb, kNone, kPlain, M::None},
    {"cgroup/sock_create", P::kCgroupSock, kCgroupInetSockCreate, kPlain, M::Cgroup},
    {"cgroup/sock_release", P::kCgroupSock, kCgroupInetSockRelease, kPlain, M::Cgroup},
    {"cgroup/sock", P::kCgroupSock, kCgroupInetSockCreate, kPlain, M::Cgroup},
    {"cgroup/post_bind4", P::kCgroupSock, kCgroupInet4PostBind, kPlain, M::Cgroup},
    {"cgroup/post_bind6", P::kCgroupSock, kCgroupInet6PostBind, kPlain, M::Cgroup},
    {"cgroup/bind4", P::kCgroupSockAddr, kCgroupInet4Bind, kPlain, M::Cgroup},
    {"cgroup/bind6", P::kCgroupSockAddr, kCgroupInet6Bind, kPlain, M::Cgroup},
    {"cgroup/connect4", P::kCgroupSockAddr, kCgroupInet4Connect, kPlain, M::Cgroup},
    {"cgroup/connect6", P::kCgroupSockAddr, kCgroupInet6Connect, kPlain, M::Cgroup},
    {"cgroup/connect_unix", P::kCgroupSockAddr, kCgroupUnixConnect, kPlain, M::Cgroup},
    {"cgroup/sendmsg4", P::kCgroupSockAddr, kCgroupUdp4Sendmsg, kPlain, M::Cgroup},
    {"cgroup/sendmsg6", P::kCgroupSockAddr, kCgroupUdp6Sendmsg, kPlain, M::Cgroup},
    {"cgroup/sendmsg_unix", P::kCgroupSockAddr, kCgroupUnixSendmsg, kPlain, M::Cgroup},
    {"cgroup/recvmsg4", P::kCgroupSockAddr, kCgroupUdp4Recvmsg, kPlain, M::Cgroup},
    {"cgroup/recvmsg6", P::kCgroupSockAddr, kCgroupUdp6Recvmsg, kPlain, M::Cgroup},
    {"cgroup/recvmsg_unix", P::kCgroupSockAddr, kCgroupUnixRecvmsg, kPlain, M::Cgroup},
    {"cgroup/getpeername4", P::kCgroupSockAddr, kCgroupInet4Getpeername, kPlain, M::Cgroup},
    {"cgroup/getpeername6", P::kCgroupSockAddr, kCgroupInet6Getpeername, kPlain, M::Cgroup},
    {"cgroup/getpeername_unix", P::kCgroupSockAddr, kCgroupUnixGetpeername, kPlain, M::Cgroup},
    {"cgroup/getsockname4", P::kCgroupSockAddr, kCgroupInet4Getsockname, kPlain, M::Cgroup},
    {"cgroup/getsockname6", P::kCgroupSockAddr, kCgroupInet6Getsockname, kPlain, M::Cgroup},
    {"cgroup/getsockname_unix", P::kCgroupSockAddr, kCgroupUnixGetsockname, kPlain, M::Cgroup},
    {"cgroup/sysctl", P::kCgroupSysctl, kCgroupSysctl, kPlain, M::Cgroup},
    {"cgroup/getsockopt", P::kCgroupSockopt, kCgroupGetsockopt, kPlain, M::Cgroup},
    {"cgroup/setsockopt", P::kCgroupSockopt, kCgroupSetsockopt, kPlain, M::Cgroup},
    {"cgroup/dev", P::kCgroupDevice, kCgroupDevice, kPlain, M::Cgroup},
    {"struct_ops+", P::kStructOps, kNone, kPlain, M::StructOps},
    {"struct_ops.s+", P::kStructOps, kNone, kSleepable, M::StructOps},
    {"sk_lookup", P::kSkLookup, kSkLookup, kPlain, M::SkLookup},
    {"netfilter", P::kNetfilter, kNetfilter, kPlain, M::Netfilter},
};

// On a match, the attach target (text after the '/'), else nullopt.
std::optional<std::string_view> match(std::string_view pattern, std::string_view name) {
  if (pattern.back() == '/') {
    if (name.substr(0, pattern.size()) == pattern) return name.substr(pattern.size());
    return std::nullopt;
  }
  if (pattern.back() == '+') {
    const std::string_view stem = pattern.substr(0, pattern.size() - 1);
    if (name.substr(0, stem.size()) != stem) return std::nullopt;
    if (name.size() == stem.size()) return std::string_view{};
    if (name[stem.size()] == '/') return name.substr(stem.size() + 1);
    return std::nullopt;
  }
  if (name == pattern) return std::string_view{};
  return std::nullopt;
}

}  // namespace

const char* attach_method_name(AttachMethod method) {
  switch (method) {
    case M::None: return "none";
    case M::Kprobe: return "kprobe";
    case M::Kretprobe: return "kretprobe";
    case M::KprobeMulti: return "kprobe_multi";
    case M::KprobeSession: return "kprobe_session";
    case M::Ksyscall: return "ksyscall";
    case M::Kretsyscall: return "kretsyscall";
    case M::Uprobe: return "uprobe";
    case M::Uretprobe: return "uretprobe";
    case M::UprobeMulti: return "uprobe_multi";
    case M::Usdt: return "usdt";
    case M::Tracepoint: return "tracepoint";
    case M::RawTracepoint: return "raw_tracepoint";
    case M::Trace: return "trace";
    case M::Lsm: return "lsm";
    case M::Iter: return "iter";
    case M::Xdp: return "xdp";
    case M::Tcx: return "tcx";
    case M::Netkit: return "netkit";
    case M::Cgroup: return "cgroup";
    case M::SkLookup: return "sk_lookup";
    case M::Netfilter: return "netfilter";
    case M::StructOps: return "struct_ops";
  }
  return "unknown";
}

std::optional<SectionKind> classify_section(std::string_view section_name) {
  for (const Rule& rule : kRules) {
    auto target = match(rule.pattern, section_name);
    if (!target) continue;
    SectionKind kind;
    kind.prog_type = rule.prog_type;
    kind.expected_attach_type = rule.attach_type;
    if (rule.flags & kSleepable) kind.prog_flags |= abi::kProgFlagSleepable;
    if (rule.flags & kFrags) kind.prog_flags |= abi::kProgFlagXdpHasFrags;
    kind.attach_by_btf_id = (rule.flags & kBtf) != 0;
    kind.attach = rule.attach;
    kind.attach_target = std::string(*target);
    kind.rule = rule.pattern;
    return kind;
  }
  return std::nullopt;
}

}  // namespace bpfsign::object
