/* Kernel functions and symbols from a program type every kernel of ours
 * loads (a syscall program, run with BPF_PROG_RUN): the loader must resolve
 * kfuncs and typeless ksyms, and leave weak ones the kernel lacks at 0.
 * (A typed ksym *variable* needs the variable in kallsyms, which kernels
 * without CONFIG_KALLSYMS_ALL, this machine's, do not list: see
 * kfuncs_ksyms.bpf.c for those.) Results land in .bss for the test. */
#include "corpus.h"

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpfsign_no_such_kfunc(void) __ksym __weak;

extern const void schedule __ksym;        /* typeless: an address from kallsyms */
extern const int bpfsign_no_such_var __ksym __weak;

__u64 own_pid;         /* the caller's pid, read back through bpf_task_from_pid */
__u64 schedule_addr;   /* &schedule */
__u64 weak_seen;       /* 1 if a weak extern resolved (it must not) */

SEC("syscall")
int use_externs(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(bpf_get_current_pid_tgid() >> 32);

	if (t) {
		own_pid = t->tgid;
		bpf_task_release(t);
	}
	schedule_addr = (__u64)&schedule;
	if (bpfsign_no_such_kfunc) {
		bpfsign_no_such_kfunc();
		weak_seen = 1;
	}
	if (&bpfsign_no_such_var)
		weak_seen = 1;
	return 0;
}

CORPUS_LICENSE;
