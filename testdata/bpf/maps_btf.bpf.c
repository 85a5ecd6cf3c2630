/* BTF-defined maps of every kind the loader must create: plain, per-CPU,
 * LRU, ring buffer, bloom filter, program array and map-in-map with initial
 * slots, pinned maps, and every attribute (flags, numa node, map_extra). */
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct { __u64 calls; __u64 last_ns; });
} per_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));   /* sizes instead of types */
	__uint(value_size, sizeof(__u64));
} percpu_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u32);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__uint(numa_node, 0);
	__uint(map_flags, BPF_F_NUMA_NODE);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u32);
} lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 256);
	__uint(map_extra, 3); /* number of hash functions */
	__type(value, __u32);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, __u64);
} pinned_total SEC(".maps");

struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_array);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 8);
		__type(key, __u32);
		__type(value, __u32);
	});
} outer_hash SEC(".maps");

int tail_target(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

struct event {
	__u32 pid;
	__u64 ns;
};

SEC("tp/syscalls/sys_enter_getppid")
int tail_target(void *ctx)
{
	__u32 k = 0;
	__u64 *total = bpf_map_lookup_elem(&pinned_total, &k);
	if (total)
		__sync_fetch_and_add(total, 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, k = 0, one = 1;
	__u64 now = bpf_ktime_get_ns(), *v;
	struct event *e;
	void *inner;

	v = bpf_map_lookup_elem(&counters, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	v = bpf_map_lookup_elem(&percpu_counters, &k);
	if (v)
		*v += 1;
	bpf_map_update_elem(&lru, &pid, &now, BPF_ANY);
	bpf_map_update_elem(&lru_percpu, &pid, &one, BPF_ANY);
	bpf_map_update_elem(&percpu_hash, &now, &pid, BPF_ANY);
	bpf_map_push_elem(&seen, &pid, 0);
	inner = bpf_map_lookup_elem(&outer_array, &k);
	if (inner)
		bpf_map_update_elem(inner, &k, &pid, BPF_ANY);
	inner = bpf_map_lookup_elem(&outer_hash, &pid);
	if (inner)
		bpf_map_update_elem(inner, &k, &pid, BPF_ANY);
	struct { __u64 calls; __u64 last_ns; } *s = bpf_map_lookup_elem(&per_pid, &pid);
	if (s) {
		s->calls++;
		s->last_ns = now;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = pid;
		e->ns = now;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_tail_call(ctx, &jump_table, 1);
	return 0;
}

CORPUS_LICENSE;
