/* A BPF LSM program on bpf_prog_load that records the signature verdict the
 * kernel gives each program a process loads (docs/kernels.md): the loader
 * itself (a syscall program loaded from user space) and the programs it
 * loads (kernel == true). The sig fields exist from 7.2 (struct
 * bpf_prog_aux.sig); they are read with CO-RE so the program also loads on
 * kernels without them, where it records that they are missing. */
#include "corpus.h"

struct bpf_prog_aux___sig {
	struct {
		__s32 keyring_serial;
		__u8 keyring_type;
		__u8 verdict;
	} sig;
} __attribute__((preserve_access_index));

__u32 watched_tgid;
__u32 has_sig_field;
__u64 loaders_seen, inner_seen, inner_unsigned;
__s32 loader_verdict = -1, loader_keyring_type = -1, loader_keyring_serial;

SEC("lsm/bpf_prog_load")
int BPF_PROG(watch_prog_load, struct bpf_prog *prog, union bpf_attr *attr, struct bpf_token *token, bool kernel)
{
	struct bpf_prog_aux___sig *aux;

	if ((bpf_get_current_pid_tgid() >> 32) != watched_tgid)
		return 0;
	aux = (void *)BPF_CORE_READ(prog, aux);
	if (!bpf_core_field_exists(aux->sig))
		return 0;
	has_sig_field = 1;
	if (kernel) {
		inner_seen++;
		if (BPF_CORE_READ(aux, sig.verdict) == 0)
			inner_unsigned++;
	} else if (BPF_CORE_READ(prog, type) == BPF_PROG_TYPE_SYSCALL) {
		loaders_seen++;
		loader_verdict = BPF_CORE_READ(aux, sig.verdict);
		loader_keyring_type = BPF_CORE_READ(aux, sig.keyring_type);
		loader_keyring_serial = BPF_CORE_READ(aux, sig.keyring_serial);
	}
	return 0;
}

CORPUS_LICENSE;
