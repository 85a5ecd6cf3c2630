/* Kernel functions and kernel variables: typed kfuncs, a weak kfunc the
 * kernel may lack, typed and typeless ksyms, and a weak ksym. */
#include "corpus.h"

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpfsign_no_such_kfunc(void) __ksym __weak;

extern const struct rq runqueues __ksym;       /* typed, per-CPU */
extern const int bpf_prog_active __ksym;       /* typed */
/* Typeless: resolved through kallsyms, which lists only functions on kernels
 * without CONFIG_KALLSYMS_ALL (this machine's), hence a function symbol. */
extern const void schedule __ksym;
extern const int bpfsign_no_such_var __ksym __weak;

__u64 observed[4];

SEC("fentry/__x64_sys_getpgid")
int BPF_PROG(with_kfuncs)
{
	struct task_struct *t;
	struct rq *rq;
	const int *active;

	t = bpf_task_from_pid(1);
	if (t) {
		observed[0] = t->pid;
		bpf_task_release(t);
	}
	bpf_rcu_read_lock();
	rq = bpf_this_cpu_ptr(&runqueues);
	observed[1] = rq->nr_running;
	bpf_rcu_read_unlock();
	active = bpf_this_cpu_ptr(&bpf_prog_active);
	observed[2] = *active + (__u64)&schedule;
	if (bpfsign_no_such_kfunc)
		bpfsign_no_such_kfunc();
	if (&bpfsign_no_such_var)
		observed[3] = 1;
	return 0;
}

CORPUS_LICENSE;
