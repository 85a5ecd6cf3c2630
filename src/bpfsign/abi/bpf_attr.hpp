// Our own definitions of the bpf(2) attribute layouts we use (the kernel
// ABI layer: layouts only, no system call), including the 6.18+ fields (signature, keyring_id, excl_prog_hash, map hash) that Debian
// 12's <linux/bpf.h> predates. Offsets are checked against the kernel's BTF
// (union bpf_attr, struct bpf_map_info on 6.18.44; docs/kernels.md)
// and pinned by the static_asserts below.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpfsign::abi {

enum class BpfCmd : int {
  MapCreate = 0,
  MapLookupElem = 1,
  MapUpdateElem = 2,
  ProgLoad = 5,
  ProgTestRun = 10,
  ObjPin = 6,
  ObjGet = 7,
  ProgGetFdById = 13,
  ObjGetInfoByFd = 15,
  RawTracepointOpen = 17,
  LinkCreate = 28,
  EnableStats = 32,
  BtfLoad = 18,
  MapFreeze = 22,
  LinkGetFdById = 30,
};

// The size of the SHA-256 the kernel writes at bpf_map_info.hash and reads
// at excl_prog_hash.
inline constexpr std::size_t kSha256Size = 32;

struct MapCreateAttr {
  std::uint32_t map_type = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t map_flags = 0;
  std::uint32_t inner_map_fd = 0;
  std::uint32_t numa_node = 0;
  char map_name[16] = {};
  std::uint32_t map_ifindex = 0;
  std::uint32_t btf_fd = 0;
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  std::uint32_t btf_vmlinux_value_type_id = 0;
  std::uint64_t map_extra = 0;
  std::int32_t value_type_btf_obj_fd = 0;
  std::int32_t map_token_fd = 0;
  std::uint64_t excl_prog_hash = 0;  // user pointer to SHA-256 of the only program allowed
  std::uint32_t excl_prog_hash_size = 0;
  std::uint32_t pad = 0;
};
static_assert(offsetof(MapCreateAttr, map_extra) == 64);
static_assert(offsetof(MapCreateAttr, excl_prog_hash) == 80);
static_assert(offsetof(MapCreateAttr, excl_prog_hash_size) == 88);
static_assert(sizeof(MapCreateAttr) == 96);

struct MapElemAttr {
  std::uint32_t map_fd = 0;
  std::uint32_t pad = 0;
  std::uint64_t key = 0;
  std::uint64_t value = 0;
  std::uint64_t flags = 0;
};
static_assert(sizeof(MapElemAttr) == 32);

struct ProgLoadAttr {
  std::uint32_t prog_type = 0;
  std::uint32_t insn_cnt = 0;
  std::uint64_t insns = 0;
  std::uint64_t license = 0;
  std::uint32_t log_level = 0;
  std::uint32_t log_size = 0;
  std::uint64_t log_buf = 0;
  std::uint32_t kern_version = 0;
  std::uint32_t prog_flags = 0;
  char prog_name[16] = {};
  std::uint32_t prog_ifindex = 0;
  std::uint32_t expected_attach_type = 0;
  std::uint32_t prog_btf_fd = 0;
  std::uint32_t func_info_rec_size = 0;
  std::uint64_t func_info = 0;
  std::uint32_t func_info_cnt = 0;
  std::uint32_t line_info_rec_size = 0;
  std::uint64_t line_info = 0;
  std::uint32_t line_info_cnt = 0;
  std::uint32_t attach_btf_id = 0;
  std::uint32_t attach_prog_fd = 0;
  std::uint32_t core_relo_cnt = 0;
  std::uint64_t fd_array = 0;
  std::uint64_t core_relos = 0;
  std::uint32_t core_relo_rec_size = 0;
  std::uint32_t log_true_size = 0;
  std::int32_t prog_token_fd = 0;
  std::uint32_t fd_array_cnt = 0;
  std::uint64_t signature = 0;  // user pointer to a DER PKCS#7 SignedData
  std::uint32_t signature_size = 0;
  std::int32_t keyring_id = 0;
};
static_assert(offsetof(ProgLoadAttr, fd_array) == 120);
static_assert(offsetof(ProgLoadAttr, fd_array_cnt) == 148);
static_assert(offsetof(ProgLoadAttr, signature) == 152);
static_assert(offsetof(ProgLoadAttr, keyring_id) == 164);
static_assert(sizeof(ProgLoadAttr) == 168);

struct ObjPinAttr {
  std::uint64_t pathname = 0;
  std::uint32_t bpf_fd = 0;
  std::uint32_t file_flags = 0;
  std::int32_t path_fd = 0;
  std::uint32_t pad = 0;
};

struct RawTracepointOpenAttr {
  std::uint64_t name = 0;  // user pointer; 0 for BTF-typed raw tracepoints (tp_btf)
  std::uint32_t prog_fd = 0;
  std::uint32_t pad = 0;
  std::uint64_t cookie = 0;
};

struct LinkCreateAttr {
  std::uint32_t prog_fd = 0;
  std::uint32_t target_fd = 0;  // or target_ifindex
  std::uint32_t attach_type = 0;
  std::uint32_t flags = 0;
  std::uint64_t extra[6] = {};  // per-link-type union (target_btf_id, iter_info, perf_event, tcx, ...)
};
static_assert(sizeof(LinkCreateAttr) == 64);

struct BtfLoadAttr {
  std::uint64_t btf = 0;
  std::uint64_t btf_log_buf = 0;
  std::uint32_t btf_size = 0;
  std::uint32_t btf_log_size = 0;
  std::uint32_t btf_log_level = 0;
  std::uint32_t btf_log_true_size = 0;
};
static_assert(offsetof(BtfLoadAttr, btf_size) == 16);
static_assert(sizeof(BtfLoadAttr) == 32);

struct TestRunAttr {
  std::uint32_t prog_fd = 0;
  std::uint32_t retval = 0;
  std::uint32_t data_size_in = 0;
  std::uint32_t data_size_out = 0;
  std::uint64_t data_in = 0;
  std::uint64_t data_out = 0;
  std::uint32_t repeat = 0;
  std::uint32_t duration = 0;
  std::uint32_t ctx_size_in = 0;
  std::uint32_t ctx_size_out = 0;
  std::uint64_t ctx_in = 0;
  std::uint64_t ctx_out = 0;
  std::uint32_t flags = 0;
  std::uint32_t cpu = 0;
  std::uint32_t batch_size = 0;
  std::uint32_t pad = 0;
};
static_assert(offsetof(TestRunAttr, ctx_in) == 48);
static_assert(sizeof(TestRunAttr) == 80);

struct ObjInfoAttr {
  std::uint32_t bpf_fd = 0;
  std::uint32_t info_len = 0;
  std::uint64_t info = 0;
};

// The head of struct bpf_prog_info: what bpfsign reads of a loaded program.
struct ProgInfo {
  std::uint32_t type = 0;
  std::uint32_t id = 0;
  std::uint8_t tag[8] = {};
  std::uint32_t jited_prog_len = 0;
  std::uint32_t xlated_prog_len = 0;
  std::uint64_t jited_prog_insns = 0;
  std::uint64_t xlated_prog_insns = 0;
  std::uint64_t load_time = 0;
  std::uint32_t created_by_uid = 0;
  std::uint32_t nr_map_ids = 0;
  std::uint64_t map_ids = 0;
  char name[16] = {};
  std::uint32_t ifindex = 0;
  std::uint32_t gpl_compatible = 0;  // bit 0
  std::uint64_t netns_dev = 0;
  std::uint64_t netns_ino = 0;
  std::uint32_t nr_jited_ksyms = 0;
  std::uint32_t nr_jited_func_lens = 0;
  std::uint64_t jited_ksyms = 0;
  std::uint64_t jited_func_lens = 0;
  std::uint32_t btf_id = 0;
  std::uint32_t func_info_rec_size = 0;
  std::uint64_t func_info = 0;
  std::uint32_t nr_func_info = 0;
  std::uint32_t nr_line_info = 0;
  std::uint64_t line_info = 0;
  std::uint64_t jited_line_info = 0;
  std::uint32_t nr_jited_line_info = 0;
  std::uint32_t line_info_rec_size = 0;
  std::uint32_t jited_line_info_rec_size = 0;
  std::uint32_t nr_prog_tags = 0;
  std::uint64_t prog_tags = 0;
  std::uint64_t run_time_ns = 0;  // with BPF_ENABLE_STATS on
  std::uint64_t run_cnt = 0;
  std::uint64_t recursion_misses = 0;
  std::uint32_t verified_insns = 0;
  std::uint32_t attach_btf_obj_id = 0;
  std::uint32_t attach_btf_id = 0;
  std::uint32_t pad = 0;
};
static_assert(offsetof(ProgInfo, name) == 64);
static_assert(offsetof(ProgInfo, btf_id) == 128);
static_assert(offsetof(ProgInfo, run_cnt) == 200);
static_assert(offsetof(ProgInfo, attach_btf_id) == 224);
static_assert(sizeof(ProgInfo) == 232);

struct MapInfo {
  std::uint32_t type = 0;
  std::uint32_t id = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t map_flags = 0;
  char name[16] = {};
  std::uint32_t ifindex = 0;
  std::uint32_t btf_vmlinux_value_type_id = 0;
  std::uint64_t netns_dev = 0;
  std::uint64_t netns_ino = 0;
  std::uint32_t btf_id = 0;
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  std::uint32_t btf_vmlinux_id = 0;
  std::uint64_t map_extra = 0;
  std::uint64_t hash = 0;  // user pointer the kernel fills with the frozen map's SHA-256
  std::uint32_t hash_size = 0;
  std::uint32_t pad = 0;
};
static_assert(offsetof(MapInfo, map_extra) == 80);
static_assert(offsetof(MapInfo, hash) == 88);
static_assert(offsetof(MapInfo, hash_size) == 96);
static_assert(sizeof(MapInfo) == 104);

}  // namespace bpfsign::abi
