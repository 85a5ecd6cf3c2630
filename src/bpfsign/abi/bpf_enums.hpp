// Kernel enum values the object model, the loaders and the probes speak in
// (include/uapi/linux/bpf.h), and their names for people. Values are ABI; names follow the kernel's
// enumerator names without the prefix, lower-cased, as bpftool prints them.
#pragma once

#include <cstdint>
#include <string>

namespace bpfsign::abi {

// enum bpf_prog_type.
namespace prog_type {
inline constexpr std::uint32_t kSocketFilter = 1, kKprobe = 2, kSchedCls = 3, kSchedAct = 4, kTracepoint = 5,
                               kXdp = 6, kPerfEvent = 7, kCgroupSkb = 8, kCgroupSock = 9, kLwtIn = 10,
                               kLwtOut = 11, kLwtXmit = 12, kSockOps = 13, kSkSkb = 14, kCgroupDevice = 15,
                               kSkMsg = 16, kRawTracepoint = 17, kCgroupSockAddr = 18, kLwtSeg6local = 19,
                               kLircMode2 = 20, kSkReuseport = 21, kFlowDissector = 22, kCgroupSysctl = 23,
                               kRawTracepointWritable = 24, kCgroupSockopt = 25, kTracing = 26, kStructOps = 27,
                               kExt = 28, kLsm = 29, kSkLookup = 30, kSyscall = 31, kNetfilter = 32;
}

// enum bpf_attach_type.
namespace attach_type {
inline constexpr std::uint32_t kCgroupInetIngress = 0, kCgroupInetEgress = 1, kCgroupInetSockCreate = 2,
                               kCgroupSockOps = 3, kSkSkbStreamParser = 4, kSkSkbStreamVerdict = 5,
                               kCgroupDevice = 6, kSkMsgVerdict = 7, kCgroupInet4Bind = 8, kCgroupInet6Bind = 9,
                               kCgroupInet4Connect = 10, kCgroupInet6Connect = 11, kCgroupInet4PostBind = 12,
                               kCgroupInet6PostBind = 13, kCgroupUdp4Sendmsg = 14, kCgroupUdp6Sendmsg = 15,
                               kLircMode2 = 16, kFlowDissector = 17, kCgroupSysctl = 18, kCgroupUdp4Recvmsg = 19,
                               kCgroupUdp6Recvmsg = 20, kCgroupGetsockopt = 21, kCgroupSetsockopt = 22,
                               kTraceRawTp = 23, kTraceFentry = 24, kTraceFexit = 25, kModifyReturn = 26,
                               kLsmMac = 27, kTraceIter = 28, kCgroupInet4Getpeername = 29,
                               kCgroupInet6Getpeername = 30, kCgroupInet4Getsockname = 31,
                               kCgroupInet6Getsockname = 32, kXdpDevmap = 33, kCgroupInetSockRelease = 34,
                               kXdpCpumap = 35, kSkLookup = 36, kXdp = 37, kSkSkbVerdict = 38,
                               kSkReuseportSelect = 39, kSkReuseportSelectOrMigrate = 40, kPerfEvent = 41,
                               kTraceKprobeMulti = 42, kLsmCgroup = 43, kNetfilter = 45, kTcxIngress = 46,
                               kTcxEgress = 47, kTraceUprobeMulti = 48, kCgroupUnixConnect = 49,
                               kCgroupUnixSendmsg = 50, kCgroupUnixRecvmsg = 51, kCgroupUnixGetpeername = 52,
                               kCgroupUnixGetsockname = 53, kNetkitPrimary = 54, kNetkitPeer = 55,
                               kTraceKprobeSession = 56, kTraceUprobeSession = 57;
}

// enum bpf_map_type.
namespace map_type {
inline constexpr std::uint32_t kHash = 1, kArray = 2, kProgArray = 3, kPerfEventArray = 4, kArrayOfMaps = 12,
                               kHashOfMaps = 13, kRingbuf = 27, kUserRingbuf = 31;
}

// Map creation and program load flags the reader and the loaders set.
inline constexpr std::uint32_t kMapFlagRdonlyProg = 1u << 7;  // BPF_F_RDONLY_PROG
inline constexpr std::uint32_t kMapFlagMmapable = 1u << 10;   // BPF_F_MMAPABLE
inline constexpr std::uint32_t kProgFlagSleepable = 1u << 4;  // BPF_F_SLEEPABLE
inline constexpr std::uint32_t kProgFlagXdpHasFrags = 1u << 5;  // BPF_F_XDP_HAS_FRAGS
// BPF_OBJ_GET file_flags: a read-only fd for a pinned map.
inline constexpr std::uint32_t kObjGetReadOnly = 1u << 3;  // BPF_F_RDONLY

std::string prog_type_name(std::uint32_t type);
std::string attach_type_name(std::uint32_t type);
std::string map_type_name(std::uint32_t type);

}  // namespace bpfsign::abi
