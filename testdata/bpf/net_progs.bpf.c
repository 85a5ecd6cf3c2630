/* Network program types: XDP, tc, socket filter and cgroup skb/sock. */
#include "corpus.h"

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0

__u64 packets[4];

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		__sync_fetch_and_add(&packets[0], 1);
	return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&packets[1], skb->len);
	return TC_ACT_OK;
}

SEC("socket")
int socket_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&packets[2], 1);
	return skb->len;
}

SEC("cgroup_skb/egress")
int cgroup_egress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&packets[3], 1);
	return 1; /* allow */
}

SEC("cgroup/sock_create")
int cgroup_sock_create(struct bpf_sock *sk)
{
	return sk->family == 0 ? 0 : 1;
}

CORPUS_LICENSE;
