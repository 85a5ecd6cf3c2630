/* The load gate (docs/gate.md): BPF LSM programs that admit a BPF program
 * load only when the policy in `gate_config` allows it, and tie the
 * programs, maps and BTF a signed loader creates through bpf_sys_bpf to
 * that loader while it runs. Every decision on a program load, and every
 * refusal, goes to the ring buffer `gate_log`.
 *
 * Self-contained: no kernel or libbpf header. The kernel structures it
 * reads are declared here with only the fields it needs and relocated
 * against the running kernel's BTF (CO-RE); union bpf_attr is read at its
 * UAPI offsets (src/bpfsign/abi/bpf_attr.hpp), which never move. */

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef _Bool bool;

#define SEC(name) __attribute__((section(name), used))
#define EPERM 1

/* BPF helpers, by number (enum bpf_func_id). */
static long (*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)16;
static __u64 (*bpf_get_current_cgroup_id)(void) = (void *)80;
static __u64 (*bpf_get_current_ancestor_cgroup_id)(int level) = (void *)123;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;

/* Kernel memory is read with bpf_probe_read_kernel at CO-RE-relocated
 * addresses (as libbpf's BPF_CORE_READ does): a field whose kernel type is
 * wider than the local one (an enum read as a byte) is read as declared
 * here, where a direct load of the wrong width would be refused. */
#define READ_KERNEL(dst, src) bpf_probe_read_kernel(&(dst), sizeof(dst), &(src))

/* What the gate reads of kernel objects, relocated by name. */
struct bpf_prog_aux {
	__u32 id;
} __attribute__((preserve_access_index));
/* The signature verdict, from 7.2.6 (struct bpf_prog_aux.sig). */
struct bpf_prog_aux___sig {
	struct {
		__s32 keyring_serial;
		__u8 keyring_type;
		__u8 verdict;
	} sig;
} __attribute__((preserve_access_index));
struct bpf_prog {
	struct bpf_prog_aux *aux;
} __attribute__((preserve_access_index));
/* CO-RE matches an enum field only with an enum (never an integer): the
 * kernel's enum, by name. */
enum bpf_map_type { BPF_MAP_TYPE_GATE_UNUSED };
struct bpf_map {
	enum bpf_map_type map_type;
	char name[16];
} __attribute__((preserve_access_index));
union bpf_attr;
struct bpf_token;

/* union bpf_attr, by its UAPI offsets. */
#define ATTR_PROG_TYPE 0
#define ATTR_MAP_TYPE 0
#define ATTR_PROG_NAME 48
#define ATTR_SIGNATURE 152
#define ATTR_SIGNATURE_SIZE 160
#define ATTR_KEYRING_ID 164
#define ATTR_MAP_NAME 28
#define BPF_BTF_LOAD 18
#define BPF_LINK_GET_FD_BY_ID 30
#define BPF_PROG_TYPE_SYSCALL 31
#define FMODE_WRITE 0x2

/* The policy as `bpfsign gate start` writes it (gate/gate_config.hpp). */
#define GATE_MAX_KEYRINGS 16
#define GATE_MAX_OWN 8
enum gate_mode { GATE_OFF = 0, GATE_AUDIT = 1, GATE_ENFORCE = 2 };
struct gate_config {
	__u32 mode;
	__u32 admit_unsigned;     /* user-space loads with no signature at all */
	__u64 prog_types;         /* bit t: program type t may be loaded (signed or inner) */
	__u64 map_types;          /* bit t: a loader may create maps of type t */
	__u64 scope_cgroup_id;    /* 0: every task */
	__u32 scope_level;        /* the scope cgroup's level in the hierarchy */
	__u32 keyrings;           /* how many of keyring_serial[] are admitted signers */
	__s32 keyring_serial[GATE_MAX_KEYRINGS];
	__u32 own_prog_ids[GATE_MAX_OWN];  /* the gate's programs: no fd for them by id or pin */
	__u32 own_link_ids[GATE_MAX_OWN];  /* its links: no fd for them by id */
};

/* One decision, as `bpfsign gate log` prints it (gate/gate_log.hpp). */
enum gate_kind { KIND_PROG = 1, KIND_MAP = 2, KIND_BTF = 3, KIND_SELF = 4 };
enum gate_decision { ADMITTED = 0, REFUSED = 1, WOULD_REFUSE = 2 };
enum gate_rule {
	RULE_SIGNED = 1,                /* verdict VERIFIED, keyring admitted */
	RULE_SIGNED_NO_VERDICT = 2,     /* a kernel without the verdict: signature given, keyring admitted */
	RULE_KEYRING_NOT_ADMITTED = 3,
	RULE_UNSIGNED = 4,              /* no signature */
	RULE_UNSIGNED_ADMITTED = 5,     /* no signature, and the policy admits that */
	RULE_INNER_ADMITTED = 6,        /* created by an admitted loader while it runs */
	RULE_INNER_NO_LOADER = 7,       /* created through bpf_sys_bpf with no admitted loader running */
	RULE_TYPE_NOT_ADMITTED = 8,
	RULE_SELF = 9,                  /* the gate's own maps and programs */
	RULE_LOADERS_FULL = 10,         /* a loader the gate cannot track: refused, not half-admitted */
};
struct gate_event {
	__u64 time_ns;
	__u64 cgroup_id;
	__u32 tgid;
	__u32 pid;
	__u32 kind;
	__u32 type;                /* program or map type */
	__s32 keyring_serial;      /* as the hook saw it (verdict's, else attr's) */
	__u8 verdict;              /* 0 unsigned, 1 verified, 0xff: no verdict field */
	__u8 keyring_type;
	__u8 decision;
	__u8 rule;
	__u8 inner;                /* through bpf_sys_bpf */
	__u8 signature_given;
	__u8 pad[2];
	char name[16];
	char comm[16];
	__u64 seq;                 /* one per record, from 0: a gap is a lost record */
};

#define VERDICT_NONE 0xff
#define VERDICT_VERIFIED 1

/* Written by `gate start`, then frozen: no program may write it either
 * (BPF_F_RDONLY_PROG), whatever fd it was given. */
struct {
	int (*type)[2];            /* BPF_MAP_TYPE_ARRAY */
	int (*max_entries)[1];
	int (*map_flags)[0x80];    /* BPF_F_RDONLY_PROG */
	__u32 *key;
	struct gate_config *value;
} gate_config SEC(".maps");

/* The log's record counter; no task gets an fd to it while the gate enforces. */
struct gate_state {
	__u64 seq;
};
struct {
	int (*type)[2];
	int (*max_entries)[1];
	__u32 *key;
	struct gate_state *value;
} gate_state SEC(".maps");

struct {
	int (*type)[27];           /* BPF_MAP_TYPE_RINGBUF */
	int (*max_entries)[256 * 1024];
} gate_log SEC(".maps");

/* Admitted loaders, by their bpf_prog_aux (which, unlike the bpf_prog,
 * survives the verifier's reallocations), and the threads running one. */
struct {
	int (*type)[1];            /* BPF_MAP_TYPE_HASH */
	int (*max_entries)[16384];
	__u64 *key;
	__u32 *value;
} admitted_loaders SEC(".maps");
struct {
	int (*type)[1];
	int (*max_entries)[16384];
	__u32 *key;                /* thread id */
	__u64 *value;              /* the loader's bpf_prog_aux */
} running_loaders SEC(".maps");

static struct gate_config *config(void)
{
	__u32 zero = 0;

	return (struct gate_config *)bpf_map_lookup_elem(&gate_config, &zero);
}

static bool in_scope(const struct gate_config *c)
{
	if (c->scope_cgroup_id == 0)
		return 1;
	return bpf_get_current_ancestor_cgroup_id((int)c->scope_level) == c->scope_cgroup_id;
}

static bool keyring_admitted(const struct gate_config *c, __s32 serial)
{
	for (int i = 0; i < GATE_MAX_KEYRINGS; i++) {
		if (i >= (int)c->keyrings)
			break;
		if (c->keyring_serial[i] == serial)
			return 1;
	}
	return 0;
}

static bool own_id(const __u32 *ids, __u32 id)
{
	for (int i = 0; i < GATE_MAX_OWN; i++) {
		if (ids[i] != 0 && ids[i] == id)
			return 1;
	}
	return 0;
}

static bool type_admitted(__u64 mask, __u32 type)
{
	return type < 64 && (mask >> type) & 1;
}

/* This thread runs a loader the gate admitted, and that loader is still
 * one (both maps are written only by the gate's programs; docs/gate.md
 * says what a task holding their fds from before start could do). */
static bool inner_admitted(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *aux = (__u64 *)bpf_map_lookup_elem(&running_loaders, &tid);

	return aux && bpf_map_lookup_elem(&admitted_loaders, aux) != 0;
}

/* Logs the decision and gives the hook's answer (audit: always 0). */
static int decide(const struct gate_config *c, struct gate_event *e, bool admit, __u8 rule)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct gate_state *st = (struct gate_state *)bpf_map_lookup_elem(&gate_state, &zero);

	if (st)
		e->seq = __sync_fetch_and_add(&st->seq, 1);
	e->rule = rule;
	e->decision = admit ? ADMITTED : c->mode == GATE_ENFORCE ? REFUSED : WOULD_REFUSE;
	e->time_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->tgid = id >> 32;
	e->pid = (__u32)id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_output(&gate_log, e, sizeof(*e), 0);
	return e->decision == REFUSED ? -EPERM : 0;
}

SEC("lsm/bpf_prog_load")
int gate_prog_load(__u64 *ctx)
{
	struct bpf_prog *prog = (void *)ctx[0];
	const char *attr = (const char *)ctx[1];
	bool kernel = (bool)ctx[3];
	struct gate_event e = {};
	struct gate_config *c = config();
	struct bpf_prog_aux___sig *sig;
	struct bpf_prog_aux *aux = 0;
	__u64 signature = 0;

	if (!c || c->mode == GATE_OFF || !in_scope(c))
		return 0;
	e.kind = KIND_PROG;
	bpf_probe_read_kernel(&e.type, 4, attr + ATTR_PROG_TYPE);
	READ_KERNEL(aux, prog->aux);
	e.inner = kernel;
	e.verdict = VERDICT_NONE;
	bpf_probe_read_kernel(e.name, sizeof(e.name), attr + ATTR_PROG_NAME);
	/* The kernel checks a signature when the pointer is set, whatever the
	 * size says (a size with no pointer is checked by nobody). */
	bpf_probe_read_kernel(&signature, 8, attr + ATTR_SIGNATURE);
	bpf_probe_read_kernel(&e.keyring_serial, 4, attr + ATTR_KEYRING_ID);
	e.signature_given = signature != 0;
	sig = (void *)aux;
	if (__builtin_preserve_field_info(sig->sig, 2 /* BPF_FIELD_EXISTS */)) {
		READ_KERNEL(e.verdict, sig->sig.verdict);
		READ_KERNEL(e.keyring_type, sig->sig.keyring_type);
		if (e.verdict == VERDICT_VERIFIED)
			READ_KERNEL(e.keyring_serial, sig->sig.keyring_serial);
	}
	/* Through bpf_sys_bpf: only from a thread running an admitted loader. */
	if (kernel) {
		if (!inner_admitted())
			return decide(c, &e, 0, RULE_INNER_NO_LOADER);
		if (!type_admitted(c->prog_types, e.type))
			return decide(c, &e, 0, RULE_TYPE_NOT_ADMITTED);
		return decide(c, &e, 1, RULE_INNER_ADMITTED);
	}
	/* Who signed it, before what it is: a refusal names the first rule
	 * that refuses. */
	if (!e.signature_given && !c->admit_unsigned)
		return decide(c, &e, 0, RULE_UNSIGNED);
	if (e.signature_given) {
		/* A load whose signature fails never reaches this hook (measured,
		 * docs/gate.md); with the verdict, the kernel says so itself. */
		if (e.verdict != VERDICT_NONE && e.verdict != VERDICT_VERIFIED)
			return decide(c, &e, 0, RULE_UNSIGNED);
		if (!keyring_admitted(c, e.keyring_serial))
			return decide(c, &e, 0, RULE_KEYRING_NOT_ADMITTED);
	}
	/* The program types the policy names bound what is loaded, not the
	 * loaders (type syscall) that load them. */
	if (e.type != BPF_PROG_TYPE_SYSCALL && !type_admitted(c->prog_types, e.type))
		return decide(c, &e, 0, RULE_TYPE_NOT_ADMITTED);
	/* An admitted loader (signed, or unsigned where the policy admits
	 * that): what it creates while it runs is admitted with it. The entry
	 * goes when the program is freed (gate_prog_free), also when its load
	 * fails after this hook, so a later program at the same address is
	 * never taken for it. */
	if (e.type == BPF_PROG_TYPE_SYSCALL) {
		__u64 key = (__u64)aux;
		__u32 one = 1;

		if (bpf_map_update_elem(&admitted_loaders, &key, &one, 0) != 0)
			return decide(c, &e, 0, RULE_LOADERS_FULL);
	}
	if (!e.signature_given)
		return decide(c, &e, 1, RULE_UNSIGNED_ADMITTED);
	return decide(c, &e, 1, e.verdict == VERDICT_NONE ? RULE_SIGNED_NO_VERDICT : RULE_SIGNED);
}

/* A program is freed: it is no admitted loader any more. */
SEC("lsm/bpf_prog_free")
int gate_prog_free(__u64 *ctx)
{
	struct bpf_prog *prog = (void *)ctx[0];
	struct bpf_prog_aux *aux = 0;
	__u64 key;

	READ_KERNEL(aux, prog->aux);
	key = (__u64)aux;
	bpf_map_delete_elem(&admitted_loaders, &key);
	return 0;
}

SEC("lsm/bpf_map_create")
int gate_map_create(__u64 *ctx)
{
	const char *attr = (const char *)ctx[1];
	bool kernel = (bool)ctx[3];
	struct gate_config *c = config();
	struct gate_event e = {};

	/* Maps from user space are not gated: a program must still be admitted to use them. */
	if (!kernel || !c || c->mode == GATE_OFF || !in_scope(c))
		return 0;
	e.kind = KIND_MAP;
	bpf_probe_read_kernel(&e.type, 4, attr + ATTR_MAP_TYPE);
	e.inner = 1;
	e.verdict = VERDICT_NONE;
	bpf_probe_read_kernel(e.name, sizeof(e.name), attr + ATTR_MAP_NAME);
	if (!inner_admitted())
		return decide(c, &e, 0, RULE_INNER_NO_LOADER);
	if (!type_admitted(c->map_types, e.type))
		return decide(c, &e, 0, RULE_TYPE_NOT_ADMITTED);
	return 0;  /* admitted inner maps are not logged: a loader makes many */
}

SEC("lsm/bpf")
int gate_bpf(__u64 *ctx)
{
	int cmd = (int)ctx[0];
	bool kernel = (bool)ctx[3];
	struct gate_config *c = config();
	struct gate_event e = {};

	const char *attr = (const char *)ctx[1];
	__u32 id = 0;

	if (!c || c->mode == GATE_OFF)
		return 0;
	/* The gate's links: no task gets an fd for one by id while it enforces
	 * (every task: its links are the gate itself). */
	if (cmd == BPF_LINK_GET_FD_BY_ID && c->mode == GATE_ENFORCE) {
		bpf_probe_read_kernel(&id, 4, attr);  /* link_id, at offset 0 */
		if (!own_id(c->own_link_ids, id))
			return 0;
		e.kind = KIND_SELF;
		e.verdict = VERDICT_NONE;
		return decide(c, &e, 0, RULE_SELF);
	}
	if (!kernel || cmd != BPF_BTF_LOAD || !in_scope(c))
		return 0;
	if (inner_admitted())
		return 0;
	e.kind = KIND_BTF;
	e.inner = 1;
	e.verdict = VERDICT_NONE;
	return decide(c, &e, 0, RULE_INNER_NO_LOADER);
}

/* The gate's programs: no fd for them (by id or pinned path) while it
 * enforces, so none can be detached or replaced through bpf(2). */
SEC("lsm/bpf_prog")
int gate_prog_fd(__u64 *ctx)
{
	struct bpf_prog *prog = (void *)ctx[0];
	struct gate_config *c = config();
	struct bpf_prog_aux *aux = 0;
	struct gate_event e = {};
	__u32 id = 0;

	if (!c || c->mode != GATE_ENFORCE)
		return 0;
	READ_KERNEL(aux, prog->aux);
	READ_KERNEL(id, aux->id);
	if (!own_id(c->own_prog_ids, id))
		return 0;
	e.kind = KIND_SELF;
	e.verdict = VERDICT_NONE;
	return decide(c, &e, 0, RULE_SELF);
}

/* The gate's own maps while it enforces: no fd at all to its record
 * counter and loader-tracking maps (a program given even a read-only fd
 * may write a map); no writable fd to its policy (frozen, and read-only to
 * programs: `gate status` reads it). The log's reader needs a writable fd
 * to advance its position: allowed (docs/gate.md says what that leaves). */
SEC("lsm/bpf_map")
int gate_map_fd(__u64 *ctx)
{
	struct bpf_map *map = (void *)ctx[0];
	__u32 fmode = (__u32)ctx[1];
	struct gate_config *c = config();
	struct gate_event e = {};

	if (!c || c->mode != GATE_ENFORCE)
		return 0;
	if ((void *)map == (void *)&gate_config) {
		if (!(fmode & FMODE_WRITE))
			return 0;
	} else if ((void *)map != (void *)&admitted_loaders && (void *)map != (void *)&running_loaders &&
		   (void *)map != (void *)&gate_state) {
		return 0;
	}
	e.kind = KIND_SELF;
	READ_KERNEL(e.type, map->map_type);
	e.verdict = VERDICT_NONE;
	READ_KERNEL(e.name, map->name);
	return decide(c, &e, 0, RULE_SELF);
}

/* A signed loader runs: its thread may create what the loader creates. */
SEC("fentry/bpf_prog_test_run_syscall")
int gate_loader_start(__u64 *ctx)
{
	struct bpf_prog *prog = (void *)ctx[0];
	struct bpf_prog_aux *aux = 0;
	__u64 key;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	READ_KERNEL(aux, prog->aux);
	key = (__u64)aux;
	/* Any other program this thread runs clears the mark, whoever set it. */
	if (bpf_map_lookup_elem(&admitted_loaders, &key))
		bpf_map_update_elem(&running_loaders, &tid, &key, 0);
	else
		bpf_map_delete_elem(&running_loaders, &tid);
	return 0;
}

SEC("fexit/bpf_prog_test_run_syscall")
int gate_loader_end(__u64 *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&running_loaders, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
