/* raw_prog_load: one bpf(BPF_PROG_LOAD) of a two-instruction socket
 * filter, with no library between the caller and the kernel: what the gate
 * must refuse from any task in its scope. Prints "loaded" or "errno N (...)";
 * exit 0 when loaded, 1 when refused. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insn_cnt = 2;
	attr.insns = (unsigned long)insns;
	attr.license = (unsigned long)"GPL";
	fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0) {
		printf("errno %d (%s)\n", errno, strerror(errno));
		return 1;
	}
	printf("loaded\n");
	close((int)fd);
	return 0;
}
