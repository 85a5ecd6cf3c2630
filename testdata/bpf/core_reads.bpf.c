/* CO-RE: field reads through pointer chains, field existence and size,
 * type existence, enum values, and a ___flavor for an older layout. */
#include "corpus.h"

struct task_struct___old {
	long state; /* renamed __state in 5.14 */
} __attribute__((preserve_access_index));

struct seen_task {
	__u32 pid, ppid, exists_state, comm_size;
	__u64 start_time;
	int enum_value;
};

struct seen_task last;

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	last.pid = BPF_CORE_READ(child, pid);
	last.ppid = BPF_CORE_READ(child, real_parent, tgid);
	last.start_time = BPF_CORE_READ(child, start_time);
	last.comm_size = bpf_core_field_size(child->comm);
	if (bpf_core_field_exists(((struct task_struct___old *)child)->state))
		last.exists_state = BPF_CORE_READ((struct task_struct___old *)child, state);
	else
		last.exists_state = BPF_CORE_READ(child, __state);
	if (bpf_core_type_exists(struct bpf_loop_ctx))
		last.enum_value = bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_loop);
	return 0;
}

SEC("raw_tp/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx->args[2];

	last.pid = BPF_CORE_READ(next, pid);
	return 0;
}

CORPUS_LICENSE;
