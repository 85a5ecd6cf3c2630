/* What libbpf-tools-style tracing tools look like (execsnoop, opensnoop):
 * a perf buffer declared without max_entries, which libbpf sizes to the
 * machine's possible CPUs at load; options in .rodata that the tool's
 * command line sets before load; and libbpf's built-in externs, which
 * libbpf answers from the running kernel, not its configuration. The
 * syscall program reports what the loader supplied, for the tests. */
#include "corpus.h"

#define TASK_COMM_LEN 16

struct event {
	__u32 pid;
	__u32 uid;
	__u64 cookie;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* Set by the tool's options before load. */
const volatile pid_t targ_pid = 0;
const volatile __u32 min_kernel_version = 0;
const volatile bool with_cookie = true;

extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int LINUX_BPFSIGN_NOT_A_BUILTIN __kconfig __weak;

__u64 seen_kernel_version;
__u64 seen_bpf_cookie;
__u64 seen_syscall_wrapper;
__u64 seen_unknown_builtin;

SEC("tracepoint/syscalls/sys_enter_execve")
int trace_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct event e = {};
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	if (targ_pid && targ_pid != pid)
		return 0;
	if (LINUX_KERNEL_VERSION < min_kernel_version)
		return 0;
	e.pid = pid;
	e.uid = (__u32)bpf_get_current_uid_gid();
	/* A known-false branch is removed by the verifier: the helper call is
	 * never seen by a kernel without cookies. */
	if (with_cookie && LINUX_HAS_BPF_COOKIE)
		e.cookie = bpf_get_attach_cookie(ctx);
	bpf_get_current_comm(&e.comm, sizeof(e.comm));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

SEC("syscall")
int report_builtins(void *ctx)
{
	seen_kernel_version = LINUX_KERNEL_VERSION;
	seen_bpf_cookie = LINUX_HAS_BPF_COOKIE;
	seen_syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	seen_unknown_builtin = LINUX_BPFSIGN_NOT_A_BUILTIN;
	return 0;
}

CORPUS_LICENSE;
