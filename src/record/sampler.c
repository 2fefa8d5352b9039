// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "record/sampler.h"
#include "mmlock.skel.h"
#include "lib/util.h"

__u32 oncpu_ring_slots(__u32 hz)
{
	__u32 slots = 64;

	/* The ring is drained every 20 ms; 100 ms of samples leaves room for a slow drain. */
	while (slots < hz / 10 && slots < 65536)
		slots <<= 1;
	return slots;
}

/* The online CPUs ("0-3,6"), into a bitmap of LF_MAX_CPUS bits. Their count, or -errno. */
static int online_cpus(bool *on)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	unsigned int a, b;
	int n = 0;
	char c;

	if (!f)
		return -errno;
	while (fscanf(f, "%u", &a) == 1) {
		b = a;
		c = fgetc(f);
		if (c == '-') {
			if (fscanf(f, "%u", &b) != 1)
				break;
			c = fgetc(f);
		}
		for (unsigned int i = a; i <= b && i < LF_MAX_CPUS; i++, n++)
			on[i] = true;
		if (c != ',')
			break;
	}
	fclose(f);
	return n ? n : -EINVAL;
}

static int perf_clock_open(__u32 hz, int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ULL / hz,	/* ns of cpu-clock: exactly hz per CPU */
	};

	return syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Attach to every online CPU, or to none: samples from some CPUs only would mislead. */
static int attach_all(struct oncpu *oc, struct bpf_program *p, __u32 hz, char *why, size_t len)
{
	bool on[LF_MAX_CPUS] = {};
	int n = online_cpus(on), ncpu = libbpf_num_possible_cpus();

	if (n < 0) {
		snprintf(why, len, "cannot read the online CPUs: %s", strerror(-n));
		return -1;
	}
	oc->links = calloc(ncpu, sizeof(*oc->links));
	if (!oc->links) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	oc->nlinks = ncpu;
	if (ladder_refused_by_env(ONCPU_PROG)) {
		snprintf(why, len, "perf_event: attach refused by MMLOCK_REFUSE_ATTACH");
		return -1;
	}
	for (int cpu = 0; cpu < ncpu && cpu < LF_MAX_CPUS; cpu++) {
		int fd;

		if (!on[cpu])
			continue;
		fd = perf_clock_open(hz, cpu);
		if (fd < 0) {
			snprintf(why, len, "perf_event_open(cpu-clock, CPU %d): %s", cpu, strerror(errno));
			return -1;
		}
		oc->links[cpu] = bpf_program__attach_perf_event(p, fd);
		if (!oc->links[cpu]) {
			snprintf(why, len, "perf_event: attach on CPU %d: %s", cpu, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return n;
}

int oncpu_start(struct oncpu *oc, const struct ladder *l, __u32 hz, const struct ksyms *ks,
		struct recording *rec, bool quiet, char *err, size_t errlen)
{
	struct mmlock_bpf *skel = l->skel;
	struct rec_sampler *sm = &rec->sampler;
	struct bpf_program *p = skel->progs.oncpu_sample;
	int ret, n;

	memset(oc, 0, sizeof(*oc));
	oc->ks = ks;
	sm->hz = hz;
	if (!hz) {
		snprintf(sm->why, sizeof(sm->why), "off (--sample-hz 0)");
		return 0;
	}
	ret = lf_ring_open(&oc->ring, bpf_map__fd(skel->maps.sample_ring), sizeof(struct cpu_sample),
			   skel->bss->sample_head, libbpf_num_possible_cpus(), oncpu_ring_slots(hz));
	if (ret) {
		snprintf(err, errlen, "cannot map the sample rings: %s", strerror(-ret));
		return EXIT_KERNEL;
	}
	if (bpf_program__fd(p) < 0) {
		snprintf(sm->why, sizeof(sm->why), "%s", ladder_refusal(l, ONCPU_PROG));
		n = -1;
	} else {
		n = attach_all(oc, p, hz, sm->why, sizeof(sm->why));
	}
	if (n < 0) {
		oncpu_detach(oc);
		vnote("sampler: %s", sm->why);
		if (!quiet)
			errmsg("note: no on-CPU samples (%s): recording without them", sm->why);
		return 0;
	}
	sm->attached = true;
	sm->cpus = n;
	vnote("sampler: perf_event cpu-clock at %u Hz on %d CPUs", hz, n);
	return 0;
}

/* One slot of the ring: a sample with a stack is symbolized and filed, one without counted. */
static void on_sample(void *ctx, const void *slot)
{
	struct oncpu *oc = ctx;
	const struct cpu_sample *c = slot;
	struct rec_cpu_sample s = {
		.ts_ns = c->ts, .ioctl_ts_ns = c->io_ts, .pid = c->pid, .tid = c->tid,
		.cmd = c->cmd & 0xff, .wait_cls = c->wait_cls, .spin = c->spin,
	};
	int n = c->nbytes > 0 ? c->nbytes / 8 : 0;
	char buf[256];

	if (n > MMLOCK_STACK_DEPTH)
		n = MMLOCK_STACK_DEPTH;
	while (n > 0 && !c->ips[n - 1])
		n--;
	if (!n) {
		oc->rec->sampler.no_stack++;
		return;
	}
	s.frames = calloc(n, sizeof(char *));
	for (int i = 0; s.frames && i < n; i++, s.nframes++)
		if (!(s.frames[i] = strdup(ksyms_fmt(oc->ks, c->ips[i], buf, sizeof(buf)))))
			break;
	if (s.nframes < n) {	/* out of memory: counted as not kept */
		cpu_sample_free(&s);
		oc->rec->sampler.not_kept++;
		return;
	}
	oc->rec->sampler.filed++;
	oncpu_add(oc->rec, &s);
}

void oncpu_drain(struct oncpu *oc, struct recording *rec, bool final)
{
	oc->rec = rec;
	lf_ring_drain(&oc->ring, final, on_sample, oc);
}

void oncpu_detach(struct oncpu *oc)
{
	for (__u32 i = 0; oc->links && i < oc->nlinks; i++)
		bpf_link__destroy(oc->links[i]);
	free(oc->links);
	oc->links = NULL;
	oc->nlinks = 0;
}

void oncpu_stats(struct oncpu *oc, const struct ladder *l, struct recording *rec)
{
	struct rec_sampler *sm = &rec->sampler;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(l->skel->progs.oncpu_sample);

	if (!sm->attached)
		return;
	sm->samples = l->skel->bss->sampler_stats[SAMPLER_TAKEN];
	sm->lost = oc->ring.lost;
	/* The BPF side's count: it includes samples lost from the ring. */
	if (l->skel->bss->sampler_stats[SAMPLER_NO_STACK] > sm->no_stack)
		sm->no_stack = l->skel->bss->sampler_stats[SAMPLER_NO_STACK];
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
		sm->run_ns = info.run_time_ns;
		sm->runs = info.run_cnt;
	}
}

void oncpu_free(struct oncpu *oc)
{
	oncpu_detach(oc);
	lf_ring_close(&oc->ring);
}
