/* Test oracle: what libbpf (Debian's libbpf-dev, never part of bpfsign)
 * would hand the kernel for a BPF object.
 *
 * It opens and loads the object with libbpf while answering libbpf's bpf(2)
 * calls itself: every BPF_BTF_LOAD, BPF_MAP_CREATE and BPF_PROG_LOAD is
 * recorded and answered with a dummy fd, every feature probe succeeds (as
 * on a current kernel), so no privileges are needed and nothing reaches the
 * kernel. Output: one JSON document on stdout; the BTF libbpf would load is
 * written to the file given as second argument.
 *
 * usage: libbpf_oracle OBJECT BTF_OUT
 */
#define _GNU_SOURCE
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_RECORDS 4096

struct prog_record {
	char name[BPF_OBJ_NAME_LEN];
	struct bpf_insn *insns;
	__u32 insn_cnt, prog_type, expected_attach_type, prog_flags;
	__u32 func_info_cnt, line_info_cnt, core_relo_cnt;
};

struct map_record {
	char name[BPF_OBJ_NAME_LEN];
	__u32 map_type, key_size, value_size, max_entries, map_flags;
};

static struct prog_record progs[MAX_RECORDS];
static struct map_record maps[MAX_RECORDS];
static int nprogs, nmaps;
static void *btf_bytes;
static __u32 btf_size;

static int dummy_fd(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static long fake_bpf(int cmd, union bpf_attr *attr)
{
	switch (cmd) {
	case BPF_PROG_LOAD:
		if (nprogs < MAX_RECORDS) {
			struct prog_record *p = &progs[nprogs++];
			memcpy(p->name, attr->prog_name, sizeof(p->name));
			p->insn_cnt = attr->insn_cnt;
			p->insns = malloc(attr->insn_cnt * sizeof(struct bpf_insn));
			memcpy(p->insns, (void *)(unsigned long)attr->insns, attr->insn_cnt * sizeof(struct bpf_insn));
			p->prog_type = attr->prog_type;
			p->expected_attach_type = attr->expected_attach_type;
			p->prog_flags = attr->prog_flags;
			p->func_info_cnt = attr->func_info_cnt;
			p->line_info_cnt = attr->line_info_cnt;
			p->core_relo_cnt = attr->core_relo_cnt;
		}
		return dummy_fd();
	case BPF_MAP_CREATE:
		if (nmaps < MAX_RECORDS) {
			struct map_record *m = &maps[nmaps++];
			memcpy(m->name, attr->map_name, sizeof(m->name));
			m->map_type = attr->map_type;
			m->key_size = attr->key_size;
			m->value_size = attr->value_size;
			m->max_entries = attr->max_entries;
			m->map_flags = attr->map_flags;
		}
		return dummy_fd();
	case BPF_BTF_LOAD:
		/* feature probes load tiny BTFs too; the object's is the largest */
		if (attr->btf_size <= btf_size)
			return dummy_fd();
		free(btf_bytes);
		btf_size = attr->btf_size;
		btf_bytes = malloc(btf_size);
		memcpy(btf_bytes, (void *)(unsigned long)attr->btf, btf_size);
		return dummy_fd();
	case BPF_OBJ_GET:
		errno = ENOENT; /* nothing is pinned */
		return -1;
	case BPF_BTF_GET_NEXT_ID:
	case BPF_PROG_GET_NEXT_ID:
	case BPF_MAP_GET_NEXT_ID:
		errno = ENOENT; /* no kernel modules with BTF */
		return -1;
	default:
		return 0; /* updates, freezes, info queries, prog_bind_map: succeed */
	}
}

/* libbpf reaches bpf(2) through syscall(3); this definition takes
 * precedence over libc's for the libbpf shared object. */
long syscall(long number, ...)
{
	va_list ap;
	long a[6];
	int i;

	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == __NR_bpf)
		return fake_bpf((int)a[0], (union bpf_attr *)a[1]);
	long (*real)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN)
		return vfprintf(stderr, fmt, args);
	return 0;
}

static const struct prog_record *find_prog(const char *name)
{
	char want[BPF_OBJ_NAME_LEN] = {};
	int i;

	strncpy(want, name, sizeof(want) - 1);
	for (i = 0; i < nprogs; i++)
		if (strncmp(progs[i].name, want, sizeof(want)) == 0)
			return &progs[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	int i, first = 1;
	__u32 j;

	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJECT BTF_OUT\n", argv[0]);
		return 2;
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "libbpf could not open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "libbpf could not load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("{\"programs\": [");
	bpf_object__for_each_program(prog, obj) {
		const struct prog_record *p = find_prog(bpf_program__name(prog));

		if (!p) {
			fprintf(stderr, "program %s was not loaded\n", bpf_program__name(prog));
			return 1;
		}
		printf("%s\n {\"name\": \"%s\", \"section\": \"%s\", \"type\": %u, \"expected_attach_type\": %u,"
		       " \"prog_flags\": %u, \"insn_cnt\": %u, \"func_info_cnt\": %u, \"line_info_cnt\": %u,"
		       " \"core_relo_cnt\": %u, \"insns\": \"",
		       first ? "" : ",", bpf_program__name(prog), bpf_program__section_name(prog), p->prog_type,
		       p->expected_attach_type, p->prog_flags, p->insn_cnt, p->func_info_cnt, p->line_info_cnt,
		       p->core_relo_cnt);
		for (j = 0; j < p->insn_cnt; j++) {
			const unsigned char *b = (const unsigned char *)&p->insns[j];
			int k;

			for (k = 0; k < 8; k++)
				printf("%02x", b[k]);
		}
		printf("\"}");
		first = 0;
	}
	printf("],\n\"maps\": [");
	first = 1;
	bpf_object__for_each_map(map, obj) {
		/* the last creation under this name: feature probes create maps too */
		const struct map_record *m = NULL;

		for (i = 0; i < nmaps; i++)
			if (strncmp(maps[i].name, bpf_map__name(map), BPF_OBJ_NAME_LEN - 1) == 0)
				m = &maps[i];
		if (!m) {
			fprintf(stderr, "map %s was not created\n", bpf_map__name(map));
			return 1;
		}
		printf("%s\n {\"name\": \"%s\", \"type\": %u, \"key_size\": %u, \"value_size\": %u,"
		       " \"max_entries\": %u, \"flags\": %u}",
		       first ? "" : ",", m->name, m->map_type, m->key_size, m->value_size, m->max_entries,
		       m->map_flags);
		first = 0;
	}
	printf("],\n\"btf_types\": %u, \"btf_size\": %u}\n",
	       bpf_object__btf(obj) ? btf__type_cnt(bpf_object__btf(obj)) - 1 : 0, btf_size);
	if (btf_bytes) {
		FILE *f = fopen(argv[2], "wb");

		if (!f || fwrite(btf_bytes, 1, btf_size, f) != btf_size || fclose(f)) {
			fprintf(stderr, "cannot write %s\n", argv[2]);
			return 1;
		}
	}
	bpf_object__close(obj);
	return 0;
}
