// BPF helper ids (enum bpf_func_id in include/uapi/linux/bpf.h) that
// bpfsign's own programs call. They are ABI: a helper keeps its number.
// No kfunc ids live here: a kfunc's BTF id differs per kernel build, so a
// loader finds it by name at run time (bpf_btf_find_by_name_kind).
#pragma once

#include <cstdint>

namespace bpfsign::abi {

// What a loader calls (loader/loader_generator.cpp).
inline constexpr std::int32_t kHelperSysBpf = 166;              // BPF_FUNC_sys_bpf
inline constexpr std::int32_t kHelperBtfFindByNameKind = 167;   // BPF_FUNC_btf_find_by_name_kind
inline constexpr std::int32_t kHelperSysClose = 168;            // BPF_FUNC_sys_close
inline constexpr std::int32_t kHelperKallsymsLookupName = 179;  // BPF_FUNC_kallsyms_lookup_name

// bpf_btf_find_by_name_kind returns btf_obj_fd << kBtfObjFdShift | btf_id.
inline constexpr std::int32_t kBtfObjFdShift = 32;

// Helpers libbpf's loaders also call (bpftool light skeletons), which
// bpfsign inspect reads: to zero the stack or copy from kernel memory, and
// to copy from user memory.
inline constexpr std::int32_t kHelperProbeReadKernel = 113;  // BPF_FUNC_probe_read_kernel
inline constexpr std::int32_t kHelperCopyFromUser = 148;     // BPF_FUNC_copy_from_user

// What the bpf_cookie probe calls (load/builtin_externs.cpp).
inline constexpr std::int32_t kHelperGetAttachCookie = 174;  // BPF_FUNC_get_attach_cookie

}  // namespace bpfsign::abi
