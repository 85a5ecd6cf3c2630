/* raw_prog_load: one bpf(BPF_PROG_LOAD) of a two-instruction socket
 * filter, with no library between the caller and the kernel: what the gate
 * must refuse from any task in its scope. Prints "loaded" or "errno N (...)";
 * exit 0 when loaded, 1 when refused.
 * `raw_prog_load --sigless SERIAL`: the same load claiming a signature it
 * does not give (a signature size and keyring, no signature pointer): the
 * kernel checks no signature then, so the gate must not take it for signed.
 * The fields are written at their UAPI offsets (this machine's linux/bpf.h
 * may predate them). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* union bpf_attr's signature fields (Linux 6.18), by offset. */
#define ATTR_SIGNATURE_SIZE 160
#define ATTR_KEYRING_ID 164

int main(int argc, char **argv)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union {
		union bpf_attr attr;
		unsigned char bytes[256];
	} a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.attr.insn_cnt = 2;
	a.attr.insns = (unsigned long)insns;
	a.attr.license = (unsigned long)"GPL";
	if (argc == 3 && strcmp(argv[1], "--sigless") == 0) {
		unsigned int size = 64;
		int keyring = atoi(argv[2]);

		memcpy(a.bytes + ATTR_SIGNATURE_SIZE, &size, sizeof(size));
		memcpy(a.bytes + ATTR_KEYRING_ID, &keyring, sizeof(keyring));
	}
	fd = syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0) {
		printf("errno %d (%s)\n", errno, strerror(errno));
		return 1;
	}
	printf("loaded\n");
	close((int)fd);
	return 0;
}
