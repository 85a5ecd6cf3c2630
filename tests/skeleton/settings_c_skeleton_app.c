/* A C program built against `bpfsign gen skeleton --c` of runtime_settings.bpf.o
 * with the settings its signer declared: the setters refuse values outside
 * their bounds (-ERANGE) before load; the values set are in effect after
 * load (.rodata, a map's size, what count_chdir counts in .bss, attached here
 * through perf_event_open); skipped programs have fd -1 and say why; and a
 * value written straight into the loader's context, past the setter's check,
 * is refused by the loader itself in the kernel (ERANGE, nothing loaded).
 *   settings_c_skeleton_app                          the object's header
 *   settings_c_signed_skeleton_app KEYRING [--unchecked]
 *                       the signed bundle's; --unchecked: this kernel checks
 *                       no signature and must refuse it (EOPNOTSUPP)
 * Exit 0: as expected; 77: skipped (needs root); 1: failure. */
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>

#include "settings.skel.h"

static int failures;

static void expect(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAILED", what);
	if (!ok)
		failures++;
}

#ifdef SIGNED_SKELETON
static int keyring;
#define LOAD(s) runtime_settings__load(s, keyring)
#else
#define LOAD(s) runtime_settings__load(s)
#endif

/* count_chdir on its tracepoint, as a perf event with the program set. */
static int attach_chdir(int prog)
{
	static const char *const ids[] = { "/sys/kernel/tracing/events/syscalls/sys_enter_chdir/id",
					   "/sys/kernel/debug/tracing/events/syscalls/sys_enter_chdir/id" };
	struct perf_event_attr attr;
	unsigned long long id = 0;
	unsigned i;
	int fd;
	FILE *f = NULL;

	for (i = 0; i < 2 && !f; i++)
		f = fopen(ids[i], "re");
	if (!f || fscanf(f, "%llu", &id) != 1) {
		puts("cannot read the tracepoint id of syscalls/sys_enter_chdir (tracefs)");
		return -1;
	}
	fclose(f);
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = id;
	attr.sample_period = 1;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 || ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog) < 0 || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
		perror("attaching count_chdir");
		return -1;
	}
	return fd;
}

static uint32_t max_entries(int map)
{
	union runtime_settings__attr attr;
	uint32_t info[20];

	memset(info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.u32[0] = (uint32_t)map;
	attr.u32[1] = sizeof(info);
	attr.u64[1] = (uint64_t)(uintptr_t)info;
	if (runtime_settings__bpf(15 /* BPF_OBJ_GET_INFO_BY_FD */, &attr, 16) < 0)
		return 0;
	return info[4]; /* struct bpf_map_info: type, id, key_size, value_size, max_entries */
}

int main(int argc, char **argv)
{
	struct runtime_settings *s = runtime_settings__open();
	uint64_t bits = 3, calls, hits;
	const uint32_t given = 1;
	char cwd[4096];
	int i, link, unchecked = 0;

	(void)argc, (void)argv;
#ifdef SIGNED_SKELETON
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--unchecked") != 0)) {
		fprintf(stderr, "usage: settings_c_signed_skeleton_app KEYRING [--unchecked]\n");
		return 2;
	}
	keyring = atoi(argv[1]);
	unchecked = argc == 3;
#endif
	if (!s) {
		perror("runtime_settings__open");
		return 1;
	}
	/* The setters' own check needs no kernel. */
	expect(runtime_settings__set_step(s, 3) == -ERANGE, "set_step(3): -ERANGE");
	expect(runtime_settings__set_delta(s, -101) == -ERANGE, "set_delta(-101): -ERANGE");
	expect(runtime_settings__set_targ_tgid(s, 4194305) == -ERANGE, "set_targ_tgid(4194305): -ERANGE");
	expect(runtime_settings__set_verbose(s, 2) == -ERANGE, "set_verbose(2): -ERANGE");
	expect(runtime_settings__set_max_entries_counts(s, 65537) == -ERANGE, "set_max_entries_counts(65537): -ERANGE");
	if (failures)
		return 1;
	if (geteuid() != 0) {
		puts("skipped: loading BPF programs needs root (bpf(2))");
		return 77;
	}

	/* Past the setter: step 3 written straight into the context. The
	 * loader refuses it in the kernel and loads nothing. */
	memcpy(s->__ctx + runtime_settings__ctx_set_step_value, &bits, 8);
	memcpy(s->__ctx + runtime_settings__ctx_set_step_given, &given, 4);
	runtime_settings__skip_on_unlink_fentry(s); /* lockdown refuses trampolines here */
	i = LOAD(s);
	if (unchecked) {
		expect(i == -EOPNOTSUPP && errno == EOPNOTSUPP, "a kernel that checks no signature refuses the signed loaders (EOPNOTSUPP)");
		runtime_settings__destroy(s);
		return failures ? 1 : 0;
	}
	expect(i == -ERANGE && errno == ERANGE, "the loader refuses step 3 from its context (ERANGE)");
	expect(s->maps.counts == 0 && s->progs.count_chdir == 0 && s->bss == NULL, "nothing loaded");

	/* Now as an application sets them; the same skeleton loads again. */
	expect(runtime_settings__set_targ_tgid(s, (uint32_t)getpid()) == 0, "set_targ_tgid(own pid)");
	expect(runtime_settings__set_step(s, 5) == 0, "set_step(5)");
	expect(runtime_settings__set_delta(s, -42) == 0, "set_delta(-42)");
	expect(runtime_settings__set_max_entries_counts(s, 4096) == 0, "set_max_entries_counts(4096)");
	if (LOAD(s) < 0) {
		perror("runtime_settings__load");
		return 1;
	}
	expect(s->rodata->targ_tgid == (uint32_t)getpid() && s->rodata->step == 5 && s->rodata->delta == -42,
	       ".rodata holds targ_tgid, step and delta as set");
	expect(max_entries(s->maps.counts) == 4096, "map counts has max_entries 4096");
	expect(s->progs.on_unlink_fentry == -1 && s->skipped.on_unlink_fentry == runtime_settings__skipped_as_asked,
	       "on_unlink_fentry: fd -1, skipped as asked");
	expect(s->progs.on_sync_fentry == -1 && s->skipped.on_sync_fentry == runtime_settings__target_missing,
	       "on_sync_fentry: fd -1, its attach target missing");
	expect(s->progs.on_unlink_kprobe > 0 && s->skipped.on_unlink_kprobe == 0 && s->progs.on_sync_kprobe > 0,
	       "the kprobe fallbacks loaded");
	expect(runtime_settings__set_step(s, 1) == -EBUSY, "a setter after load: -EBUSY");

	link = attach_chdir(s->progs.count_chdir);
	if (link < 0 || !getcwd(cwd, sizeof(cwd)))
		return 1;
	for (i = 0; i < 7; i++)
		if (chdir("/") != 0)
			return 1;
	if (chdir(cwd) != 0)
		return 1;
	calls = s->bss->calls;
	hits = s->bss->hits;
	printf("  .bss calls %llu, hits %llu, seen_delta %lld\n", (unsigned long long)calls, (unsigned long long)hits,
	       (long long)s->bss->seen_delta);
	expect(calls >= 7 && hits == 5 * calls, "count_chdir counted this process's chdir(2) calls with step 5");
	expect(s->bss->seen_delta == -42, "count_chdir saw delta -42");
	close(link);
	runtime_settings__destroy(s);
	return failures ? 1 : 0;
}
