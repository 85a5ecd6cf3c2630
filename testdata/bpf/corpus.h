/* Shared prelude of the bpfsign BPF test corpus. vmlinux.h is dumped from
 * the running kernel's BTF at build time (testdata/CMakeLists.txt). */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define CORPUS_LICENSE char LICENSE[] SEC("license") = "GPL"
