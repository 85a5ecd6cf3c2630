#define _GNU_SOURCE
#include "fake_bpf.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int fake_bpf_record = 1;
struct prog_record fake_progs[MAX_RECORDS];
struct map_record fake_maps[MAX_RECORDS];
int fake_nprogs, fake_nmaps;
void *fake_btf_bytes;
__u32 fake_btf_size;

static int dummy_fd(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static long fake_bpf(int cmd, union bpf_attr *attr)
{
	switch (cmd) {
	case BPF_PROG_LOAD:
		if (fake_bpf_record && fake_nprogs < MAX_RECORDS) {
			struct prog_record *p = &fake_progs[fake_nprogs++];
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
		if (fake_bpf_record && fake_nmaps < MAX_RECORDS) {
			struct map_record *m = &fake_maps[fake_nmaps++];
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
		if (!fake_bpf_record || attr->btf_size <= fake_btf_size)
			return dummy_fd();
		free(fake_btf_bytes);
		fake_btf_size = attr->btf_size;
		fake_btf_bytes = malloc(fake_btf_size);
		memcpy(fake_btf_bytes, (void *)(unsigned long)attr->btf, fake_btf_size);
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

