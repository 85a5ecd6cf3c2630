/* One program of each tracing type: tracepoint, raw tracepoint, BTF
 * tracepoint, fentry, fexit, fmod_ret, kprobe and kretprobe. */
#include "corpus.h"

__u64 counts[8];

SEC("tracepoint/syscalls/sys_enter_getpgid")
int tp_getpgid(struct trace_event_raw_sys_enter *ctx)
{
	__sync_fetch_and_add(&counts[0], 1);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__sync_fetch_and_add(&counts[1], 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	if (id == 121) /* getpgid */
		__sync_fetch_and_add(&counts[2], 1);
	return 0;
}

SEC("fentry/__x64_sys_getpgid")
int BPF_PROG(fentry_getpgid, const struct pt_regs *regs)
{
	__sync_fetch_and_add(&counts[3], 1);
	return 0;
}

SEC("fexit/__x64_sys_getpgid")
int BPF_PROG(fexit_getpgid, const struct pt_regs *regs, long ret)
{
	__sync_fetch_and_add(&counts[4], 1);
	return 0;
}

/* A security_ hook: modifiable on every kernel with the BPF LSM, where a
 * syscall needs CONFIG_FUNCTION_ERROR_INJECTION (off in Debian's 6.19 and
 * 7.0 cloud kernels: "__x64_sys_getpgid() is not modifiable"). */
SEC("fmod_ret/security_task_getsid")
int BPF_PROG(fmod_ret_getsid, struct task_struct *p, int ret)
{
	__sync_fetch_and_add(&counts[5], 1);
	return 0; /* 0: let the syscall run */
}

/* Syscall entry points are stable kprobe targets (do_unlinkat is gone from
 * 7.0 on: "perf_event_open (kprobe): No such file or directory"). */
SEC("kprobe/__x64_sys_getpgid")
int BPF_KPROBE(kprobe_getpgid, const struct pt_regs *regs)
{
	__sync_fetch_and_add(&counts[6], 1);
	return 0;
}

SEC("kretprobe/__x64_sys_getpgid")
int BPF_KRETPROBE(kretprobe_getpgid, long ret)
{
	__sync_fetch_and_add(&counts[7], 1);
	return 0;
}

CORPUS_LICENSE;
