/* Subprograms: static and global functions, a function shared by two entry
 * programs, and callbacks passed by address (bpf_loop, for_each_map_elem). */
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

__u64 total;
int loop_result;

static __noinline __u64 scale(__u64 x, __u32 shift)
{
	return (x << shift) + (x >> (shift + 1));
}

/* A global function: the verifier checks it once, on its own. */
__noinline int clamp_global(int x)
{
	if (x < 0)
		return 0;
	return x > 100 ? 100 : x;
}

static int loop_step(__u32 index, void *ctx)
{
	int *acc = ctx;

	*acc += clamp_global((int)index * 3);
	return 0;
}

static long sum_elem(struct bpf_map *map, __u32 *key, __u64 *val, void *ctx)
{
	*(__u64 *)ctx += scale(*val, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int with_callbacks(void *ctx)
{
	int acc = 0;
	__u64 sum = 0;

	bpf_loop(16, loop_step, &acc, 0);
	bpf_for_each_map_elem(&values, sum_elem, &sum, 0);
	loop_result = acc;
	total += scale(sum, 2);
	return 0;
}

SEC("syscall")
int shared_subprog(void *ctx)
{
	return clamp_global((int)scale(3, 2));
}

CORPUS_LICENSE;
