/* A stand-in for bpf(2) for libbpf in tests and benchmarks: libbpf calls
 * syscall(__NR_bpf, ...) through libc; the syscall() defined here takes
 * precedence for the libbpf shared object. BTF_LOAD, MAP_CREATE and
 * PROG_LOAD are answered with a dummy fd (and recorded when
 * fake_bpf_record is set); every feature probe succeeds, as on a current
 * kernel; nothing reaches the kernel and no privilege is needed. */
#pragma once
#include <linux/bpf.h>

#define MAX_RECORDS 4096

struct prog_record {
	char name[BPF_OBJ_NAME_LEN];
	struct bpf_insn *insns;
	__u32 insn_cnt, prog_type, expected_attach_type, prog_flags;
	__u32 func_info_cnt, line_info_cnt, core_relo_cnt;
};

struct map_record {
	char name[BPF_OBJ_NAME_LEN];
	__u32 map_type, key_size, value_size, max_entries, map_flags;
};

extern int fake_bpf_record;
extern struct prog_record fake_progs[MAX_RECORDS];
extern struct map_record fake_maps[MAX_RECORDS];
extern int fake_nprogs, fake_nmaps;
extern void *fake_btf_bytes;
extern __u32 fake_btf_size;
