/* Built with -mcpu=v4: sign-extending loads and moves, signed division,
 * byte swaps, 32-bit jumps and every atomic, plus inline assembly for the
 * encodings C does not reach (gotol, may_goto, legacy packet loads). */
#include "corpus.h"

__s64 sink64[8];
__s32 sink32[8];
__u64 atom64;
__u32 atom32;

SEC("socket")
int isa_v4(struct __sk_buff *skb)
{
	__s8 b = (__s8)skb->len;
	__s16 h = (__s16)skb->protocol;
	__s32 w = (__s32)skb->mark;
	volatile __s8 vb = b;
	volatile __s16 vh = h;
	volatile __s32 vw = w;
	__s64 x = vb + vh + vw;
	__s32 y = (__s32)x;
	int r;

	sink64[0] = x / (vw | 1);
	sink64[1] = x % (vh | 1);
	sink32[0] = y / (vb | 1);
	sink32[1] = y % 7;
	sink64[2] = __builtin_bswap64((__u64)x);
	sink32[2] = __builtin_bswap32((__u32)y);
	sink32[3] = __builtin_bswap16((__u16)y);
	sink64[3] = bpf_htonl((__u32)x);

	__sync_fetch_and_add(&atom64, 1);
	__sync_fetch_and_or(&atom64, 2);
	__sync_fetch_and_and(&atom64, ~4ull);
	__sync_fetch_and_xor(&atom64, 8);
	sink64[4] = __sync_fetch_and_add(&atom64, 16) + __sync_fetch_and_or(&atom64, 32) +
		    __sync_fetch_and_and(&atom64, 64) + __sync_fetch_and_xor(&atom64, 128);
	sink64[5] = __sync_lock_test_and_set(&atom64, 5) + __sync_val_compare_and_swap(&atom64, 5, 6);

	__sync_fetch_and_add(&atom32, 1);
	__sync_fetch_and_or(&atom32, 2);
	__sync_fetch_and_and(&atom32, ~4u);
	__sync_fetch_and_xor(&atom32, 8);
	sink32[4] = __sync_fetch_and_add(&atom32, 16) + __sync_fetch_and_or(&atom32, 32) +
		    __sync_fetch_and_and(&atom32, 64) + __sync_fetch_and_xor(&atom32, 128);
	sink32[5] = __sync_lock_test_and_set(&atom32, 5) + __sync_val_compare_and_swap(&atom32, 5, 6);

	if ((__u32)y > 10 && (__s32)y < 1000)
		sink32[6] = y;

	asm volatile(
		"r6 = %[skb];"
		"r0 = *(u8 *)skb[12];"
		"r0 = *(u16 *)skb[12];"
		"r0 = *(u32 *)skb[12];"
		"r7 = 0;" /* packet loads clobber r1-r5: index in r7 */
		"r0 = *(u8 *)skb[r7];"
		"r0 = *(u16 *)skb[r7];"
		"r0 = *(u32 *)skb[r7];"
		"may_goto +1;"
		"r0 = 0;"
		"gotol +0;"
		"%[r] = r0;"
		: [r] "=r"(r)
		: [skb] "r"(skb)
		: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7");
	return r & 1;
}

CORPUS_LICENSE;
