/* Test oracle: loads one object through the light skeleton that Debian's
 * bpftool generates (`bpftool gen skeleton -L`, force-included at build
 * time with SKEL_NAME set) and prints, as JSON, what the kernel holds for
 * each program (name, type, tag) and map (name, type, sizes, flags). The
 * skeleton's progs and maps sub-structs are arrays of one descriptor type,
 * so this driver needs no per-object code. Never part of bpfsign. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define SKEL struct SKEL_NAME
#define OPEN_AND_LOAD CAT(SKEL_NAME, __open_and_load)
#define DESTROY CAT(SKEL_NAME, __destroy)

static int info(int fd, void *buf, __u32 len)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = len;
	a.info.info = (unsigned long)buf;
	return syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
}

/* --bench N: the mean wall time of N loads (open, load, destroy), in ns. */
static int bench(int n)
{
	struct timespec t0, t1;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		SKEL *s = OPEN_AND_LOAD();

		if (!s)
			return 1;
		DESTROY(s);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("{\"ns_per_load\": %.0f}\n",
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
	return 0;
}

int main(int argc, char **argv)
{
	SKEL *s;

	if (argc == 3 && strcmp(argv[1], "--bench") == 0)
		return bench(atoi(argv[2]));
	s = OPEN_AND_LOAD();
	struct bpf_prog_desc *progs;
	struct bpf_map_desc *maps;
	size_t i, n;

	if (!s) {
		fprintf(stderr, "light skeleton failed to load\n");
		return 1;
	}
	progs = (struct bpf_prog_desc *)&s->progs;
	n = sizeof(s->progs) / sizeof(*progs);
	printf("{\"programs\": [");
	for (i = 0; i < n; i++) {
		struct bpf_prog_info p;
		int k;

		memset(&p, 0, sizeof(p));
		if (info(progs[i].prog_fd, &p, sizeof(p)))
			return 1;
		printf("%s{\"name\": \"%s\", \"type\": %u, \"tag\": \"", i ? ", " : "", p.name, p.type);
		for (k = 0; k < 8; k++)
			printf("%02x", p.tag[k]);
		printf("\"}");
	}
	maps = (struct bpf_map_desc *)&s->maps;
	n = sizeof(s->maps) / sizeof(*maps);
	printf("], \"maps\": [");
	for (i = 0; i < n; i++) {
		struct bpf_map_info m;

		memset(&m, 0, sizeof(m));
		if (info(maps[i].map_fd, &m, sizeof(m)))
			return 1;
		printf("%s{\"name\": \"%s\", \"type\": %u, \"key_size\": %u, \"value_size\": %u, \"max_entries\": %u, \"flags\": %u}",
		       i ? ", " : "", m.name, m.type, m.key_size, m.value_size, m.max_entries, m.map_flags);
	}
	printf("]}\n");
	DESTROY(s);
	return 0;
}
