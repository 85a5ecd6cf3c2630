/* A C program built against `bpfsign gen skeleton --c` of subprogs.bpf.o:
 * it loads the object, runs its syscall program with BPF_PROG_RUN, writes
 * the .bss it sees through memory and reads it back from the map.
 * Exit 0: loaded and consistent; 77: skipped (needs root); 1: failure. */
#include <stdio.h>

#include "subprogs.skel.h"

int main(void)
{
	struct subprogs *s;
	union { unsigned char raw[80]; uint32_t u32[20]; } attr;
	uint64_t value[2];
	uint32_t key = 0;

	if (geteuid() != 0) {
		puts("skipped: loading BPF programs needs root (bpf(2))");
		return 77;
	}
	s = subprogs__open_and_load();
	if (!s) {
		perror("subprogs__open_and_load");
		return 1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.u32[0] = (uint32_t)s->progs.shared_subprog;
	if (subprogs__bpf(10 /* BPF_PROG_RUN */, &attr, sizeof(attr)) < 0) {
		perror("BPF_PROG_RUN");
		return 1;
	}
	printf("shared_subprog returned %u\n", attr.u32[1]);
	/* .bss through memory, read back through the map */
	s->bss->total = 42;
	memset(&attr, 0, sizeof(attr));
	attr.u32[0] = (uint32_t)s->maps.bss;
	memcpy(&attr.raw[8], &(uint64_t){(uint64_t)(uintptr_t)&key}, 8);
	memcpy(&attr.raw[16], &(uint64_t){(uint64_t)(uintptr_t)value}, 8);
	if (subprogs__bpf(1 /* BPF_MAP_LOOKUP_ELEM */, &attr, 32) < 0) {
		perror("BPF_MAP_LOOKUP_ELEM");
		return 1;
	}
	printf(".bss total through memory 42, through the map %llu\n", (unsigned long long)value[1]);
	subprogs__destroy(s);
	return value[1] == 42 ? 0 : 1;
}
