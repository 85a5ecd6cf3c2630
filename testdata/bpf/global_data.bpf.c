/* Global data of every kind: .data, .rodata, .bss, custom .data.* and
 * .rodata.* sections, string literals, and .kconfig externs (strong and weak). */
#include "corpus.h"

int hits = 1;                               /* .data */
const volatile __u32 sample_every = 4;      /* .rodata, set before load */
const volatile char greeting[8] = "bpfsign";
__u64 histogram[16];                        /* .bss */
static __u32 calls;                         /* .bss, static */
int custom_data SEC(".data.custom") = 42;  /* .data.custom */
const volatile __u64 custom_ro SEC(".rodata.custom") = 7;
__u32 extra_bss[4] SEC(".data.zeroed");    /* custom section, zero-filled */

extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern _Bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern int CONFIG_BPFSIGN_DOES_NOT_EXIST __kconfig __weak;

SEC("raw_tp/sys_enter")
int use_globals(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 n = __sync_fetch_and_add(&calls, 1);

	if (sample_every && n % sample_every)
		return 0;
	hits++;
	histogram[n & 15] += custom_ro;
	custom_data += greeting[0];
	extra_bss[n & 3] = LINUX_KERNEL_VERSION + CONFIG_HZ + CONFIG_BPF_SYSCALL +
			   CONFIG_BPFSIGN_DOES_NOT_EXIST;
	bpf_printk("bpfsign corpus: call %u", n);
	return 0;
}

CORPUS_LICENSE;
