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
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fake_bpf.h"

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
	for (i = 0; i < fake_nprogs; i++)
		if (strncmp(fake_progs[i].name, want, sizeof(want)) == 0)
			return &fake_progs[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	int i, first = 1;
	__u32 j;

	if (argc < 3) {
		fprintf(stderr, "usage: %s OBJECT BTF_OUT [NO_AUTOLOAD_PROGRAM...]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "libbpf could not open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* The oracle reports what libbpf would load, not where it would pin:
	 * auto-pinning needs a BPF file system that a build machine may lack. */
	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
	/* What a tool does for a program this kernel cannot attach (its
	 * fentry target missing): autoload off; not reported. */
	for (i = 3; i < argc; i++) {
		prog = bpf_object__find_program_by_name(obj, argv[i]);
		if (!prog || bpf_program__set_autoload(prog, false)) {
			fprintf(stderr, "no program %s to turn autoload off\n", argv[i]);
			return 2;
		}
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "libbpf could not load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("{\"programs\": [");
	bpf_object__for_each_program(prog, obj) {
		const struct prog_record *p = find_prog(bpf_program__name(prog));

		if (!bpf_program__autoload(prog))
			continue;
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

		for (i = 0; i < fake_nmaps; i++)
			if (strncmp(fake_maps[i].name, bpf_map__name(map), BPF_OBJ_NAME_LEN - 1) == 0)
				m = &fake_maps[i];
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
	       bpf_object__btf(obj) ? btf__type_cnt(bpf_object__btf(obj)) - 1 : 0, fake_btf_size);
	if (fake_btf_bytes) {
		FILE *f = fopen(argv[2], "wb");

		if (!f || fwrite(fake_btf_bytes, 1, fake_btf_size, f) != fake_btf_size || fclose(f)) {
			fprintf(stderr, "cannot write %s\n", argv[2]);
			return 1;
		}
	}
	bpf_object__close(obj);
	return 0;
}
