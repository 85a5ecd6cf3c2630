/* Legacy map definitions: struct bpf_map_def in the "maps" section, as
 * objects built before BTF-defined maps declared them. libbpf 1.0 dropped
 * them; a loader for old objects still needs to read them. */
#include "corpus.h"

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 8,
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 64,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int legacy_socket(struct __sk_buff *skb)
{
	__u32 k = skb->protocol & 7, len = skb->len;
	__u64 *v = bpf_map_lookup_elem(&legacy_counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	bpf_map_update_elem(&legacy_hash, &k, &len, BPF_ANY);
	return 0;
}

CORPUS_LICENSE;
