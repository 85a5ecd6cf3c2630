/* Built with -mcpu=v1: the oldest encoding, no 32-bit ALU or jumps, so the
 * decoder is also exercised on what older toolchains emit. */
#include "corpus.h"

__u64 acc[4];

SEC("socket")
int isa_v1(struct __sk_buff *skb)
{
	__u64 len = skb->len, proto = skb->protocol;

	if (len > 64)
		acc[0] += len / 3;
	else if (len < 16)
		acc[1] += len % 5;
	acc[2] ^= (proto << 3) | (len >> 2);
	acc[3] = bpf_ntohs((__u16)proto);
	return 0;
}

CORPUS_LICENSE;
