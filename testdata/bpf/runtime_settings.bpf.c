/* A tool configured on its command line before it loads, the way
 * libbpf-tools write them (runqlat, tcpconnect, fsslower): .rodata filters
 * and options, a map and a ring buffer sized from options
 * (bpf_map__set_max_entries), a perf buffer sized by the machine, and fentry
 * programs with kprobe fallbacks (the tool turns autoload off for whichever
 * the kernel cannot attach). The signer declares which of these the
 * loading side may change (runtime_settings.settings.json); the .bss
 * counters let the tests observe the values in effect. */
#include "corpus.h"

struct event {
	__u32 tgid;
	__u32 step;
};

/* Options, set before load. */
const volatile __u32 targ_tgid = 0;  /* 0: every process */
const volatile __u32 step = 1;       /* added to hits per event */
const volatile int delta = 0;        /* signed; reported back as seen_delta */
const volatile bool verbose = false; /* events to the ring buffer too */

__u64 calls;
__u64 hits;
__s64 seen_delta;
__u64 unlink_fentry_hits;
__u64 unlink_kprobe_hits;
__u64 sync_fentry_hits;
__u64 sync_kprobe_hits;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

static __always_inline bool wanted(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return !targ_tgid || tgid == targ_tgid;
}

SEC("tracepoint/syscalls/sys_enter_chdir")
int count_chdir(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *n;
	struct event e = { .tgid = tgid, .step = step };

	if (!wanted())
		return 0;
	__sync_fetch_and_add(&calls, 1);
	__sync_fetch_and_add(&hits, step);
	seen_delta = delta;
	n = bpf_map_lookup_elem(&counts, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &tgid, &one, BPF_NOEXIST);
	if (verbose) {
		bpf_ringbuf_output(&events, &e, sizeof(e), 0);
		bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	}
	return 0;
}

/* The same event two ways: fentry where the kernel has trampolines and
 * the function's BTF, the kprobe otherwise. (vfs_unlink, not do_unlinkat:
 * 7.3 no longer has do_unlinkat, and these rows must load everywhere.) */
SEC("fentry/vfs_unlink")
int BPF_PROG(on_unlink_fentry)
{
	if (wanted())
		__sync_fetch_and_add(&unlink_fentry_hits, 1);
	return 0;
}

SEC("kprobe/vfs_unlink")
int BPF_KPROBE(on_unlink_kprobe)
{
	if (wanted())
		__sync_fetch_and_add(&unlink_kprobe_hits, 1);
	return 0;
}

/* A function that a newer kernel renamed: no kernel here has this name,
 * so its fentry is skipped and the kprobe on the old name is loaded. */
SEC("fentry/bpfsign_renamed_ksys_sync")
int BPF_PROG(on_sync_fentry)
{
	__sync_fetch_and_add(&sync_fentry_hits, 1);
	return 0;
}

SEC("kprobe/ksys_sync")
int BPF_KPROBE(on_sync_kprobe)
{
	__sync_fetch_and_add(&sync_kprobe_hits, 1);
	return 0;
}

CORPUS_LICENSE;
