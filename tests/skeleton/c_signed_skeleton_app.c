/* A C program built against a signed C skeleton (`bpfsign gen skeleton --c`
 * of a bundle of subprogs.bpf.o): it loads with the keyring it names, runs
 * the syscall program and says who checked what.
 *   c_signed_skeleton_app KEYRING              the kernel must verify it
 *   c_signed_skeleton_app KEYRING --unchecked  a kernel that checks no
 *                                              signature must refuse it
 * Exit 0: as expected; 77: skipped (needs root); 1: otherwise. */
#include <stdio.h>
#include <string.h>

#include "subprogs_signed.skel.h"

int main(int argc, char **argv)
{
	struct subprogs_signed *s;
	union { unsigned char raw[80]; uint32_t u32[20]; } attr;
	int unchecked = argc == 3 && strcmp(argv[2], "--unchecked") == 0;

	if (argc < 2 || (argc == 3 && !unchecked) || argc > 3) {
		fprintf(stderr, "usage: c_signed_skeleton_app KEYRING [--unchecked]\n");
		return 1;
	}
	if (geteuid() != 0) {
		puts("skipped: loading BPF programs needs root (bpf(2))");
		return 77;
	}
	s = subprogs_signed__open_and_load(atoi(argv[1]));
	if (unchecked) {
		if (s || errno != EOPNOTSUPP) {
			printf("expected EOPNOTSUPP from a kernel that checks no signature, got %s\n", s ? "a load" : strerror(errno));
			return 1;
		}
		puts("refused: this kernel checks no signature (EOPNOTSUPP)");
		return 0;
	}
	if (!s) {
		perror("subprogs_signed__open_and_load");
		return 1;
	}
	printf("scheme %s; checked by: %s\n", s->scheme, s->checked_by);
	memset(&attr, 0, sizeof(attr));
	attr.u32[0] = (uint32_t)s->progs.shared_subprog;
	if (subprogs_signed__bpf(10 /* BPF_PROG_RUN */, &attr, sizeof(attr)) < 0) {
		perror("BPF_PROG_RUN");
		return 1;
	}
	printf("shared_subprog returned %u\n", attr.u32[1]);
	subprogs_signed__destroy(s);
	return 0;
}
