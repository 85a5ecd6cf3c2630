// Kernel enum values the object model speaks in (include/uapi/linux/bpf.h),
// and their names for people. Values are ABI; names follow the kernel's
// enumerator names without the prefix, lower-cased, as bpftool prints them.
#pragma once

#include <cstdint>
#include <string>

namespace bpfsign::object {

namespace prog_type {
inline constexpr std::uint32_t kSocketFilter = 1, kKprobe = 2, kSchedCls = 3, kSchedAct = 4, kTracepoint = 5,
                               kXdp = 6, kPerfEvent = 7, kCgroupSkb = 8, kCgroupSock = 9, kLwtIn = 10,
                               kLwtOut = 11, kLwtXmit = 12, kSockOps = 13, kSkSkb = 14, kCgroupDevice = 15,
                               kSkMsg = 16, kRawTracepoint = 17, kCgroupSockAddr = 18, kLwtSeg6local = 19,
                               kLircMode2 = 20, kSkReuseport = 21, kFlowDissector = 22, kCgroupSysctl = 23,
                               kRawTracepointWritable = 24, kCgroupSockopt = 25, kTracing = 26, kStructOps = 27,
                               kExt = 28, kLsm = 29, kSkLookup = 30, kSyscall = 31, kNetfilter = 32;
}

namespace map_type {
inline constexpr std::uint32_t kHash = 1, kArray = 2, kProgArray = 3, kPerfEventArray = 4, kArrayOfMaps = 12,
                               kHashOfMaps = 13, kRingbuf = 27, kUserRingbuf = 31;
}

// Map creation and program load flags the reader sets.
inline constexpr std::uint32_t kMapFlagRdonlyProg = 1u << 7;  // BPF_F_RDONLY_PROG
inline constexpr std::uint32_t kMapFlagMmapable = 1u << 10;   // BPF_F_MMAPABLE
inline constexpr std::uint32_t kProgFlagSleepable = 1u << 4;  // BPF_F_SLEEPABLE
inline constexpr std::uint32_t kProgFlagXdpHasFrags = 1u << 5;  // BPF_F_XDP_HAS_FRAGS

std::string prog_type_name(std::uint32_t type);
std::string attach_type_name(std::uint32_t type);
std::string map_type_name(std::uint32_t type);

}  // namespace bpfsign::object
