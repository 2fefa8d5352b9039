// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The one definition of every map and global (see maps.bpf.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#define MMLOCK_DEFINE_GLOBALS
#include "maps.bpf.h"

const volatile char targ_comm[MMLOCK_COMM_LEN] = {};
__u64 counters[NR_COUNTERS] = {};
__u64 lf_head[LF_MAX_CPUS] = {};
__u64 sample_head[LF_MAX_CPUS] = {};
__u64 sampler_stats[NR_SAMPLER_STATS] = {};
__u32 folio_probed = 0;
__u32 nr_markers = 0;

char LICENSE[] SEC("license") = "GPL";
