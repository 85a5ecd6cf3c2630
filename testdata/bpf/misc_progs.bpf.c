/* LSM, iterator and syscall programs. */
#include "corpus.h"

__u64 opened, tasks_seen;
int syscall_arg;

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file)
{
	__sync_fetch_and_add(&opened, 1);
	return 0;
}

SEC("lsm.s/bpf")
int BPF_PROG(lsm_bpf_sleepable, int cmd, union bpf_attr *attr, unsigned int size)
{
	return 0;
}

SEC("iter/task")
int iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	tasks_seen++;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%d\n", task->pid);
	return 0;
}

struct syscall_args {
	int value;
};

SEC("syscall")
int syscall_prog(struct syscall_args *args)
{
	syscall_arg = args->value;
	return args->value * 2;
}

CORPUS_LICENSE;
