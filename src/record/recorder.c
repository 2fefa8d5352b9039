// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mmlock record`: check the target and the kernel, load and attach through
 * the ladder, start the command if one was given, poll the ring buffer (the
 * BPF side never wakes us: a wakeup per event perturbs the workload), sample
 * counters each second, then collect the maps and hand the recording to the
 * sink (cmd/record.c), which owns the outputs: record/ knows no format.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "record/collect.h"
#include "record/ladder.h"
#include "record/markers.h"
#include "record/sampler.h"
#include "mmlock.skel.h"
#include "record/recorder.h"
#include "record/target.h"
#include "lib/util.h"

#define POLL_MS		20
#define SAMPLE_NS	1000000000ULL
#define COMM_SCAN_NS	100000000ULL	/* a /proc scan costs ~1 ms of CPU */
#define STACKS_PER_THREAD 8
/* Raw on-CPU samples kept for the JSON (~1 KB each there); the sums count them all. */
#define MAX_CPU_SAMPLES	10000

static volatile sig_atomic_t stop;	/* the signal that asked us to stop, 0 if none */
static volatile pid_t child_pid;	/* the command after --, once spawned */

static void on_signal(int sig)
{
	/* Second Ctrl-C: leave now (the kernel drops our BPF objects), not leaving the command behind. */
	if (stop) {
		if (child_pid > 0)
			kill(child_pid, SIGTERM);
		atomic_unlink_all();	/* an output half-written when the second one came */
		_exit(128 + sig);
	}
	stop = sig;
}

/*
 * Start-up (BPF load and attach) can take seconds on a busy machine: it
 * checks for a stop request between its steps, and gives up with nothing
 * written. The exit code is the shell's for a death by that signal.
 */
static int interrupted(char *err, size_t errlen)
{
	snprintf(err, errlen, "interrupted (%s) before the recording started: nothing written",
		 strsignal(stop));
	return 128 + stop;
}

struct session {
	const struct record_opts *o;
	struct ladder ladder;
	struct ring_buffer *rb;
	struct lf_view lf;
	struct oncpu oncpu;
	int resilient;		/* -1 until known: the kernel's BPF locks are resilient */
	struct ksyms ks;
	struct stack_cache sc;
	struct marker markers[MMLOCK_MAX_MARKERS];
	unsigned int nmarkers;
	struct recording rec;
	struct sampler sampler;	/* per-process totals between samples */
	const struct record_sink *sink;
	struct target_child child;
	bool have_child;
	bool comm_waiting;	/* -c NAME: no such thread ran when the recording began */
	__u32 target_pid;
	int ksyms_ret;
	char ksyms_err[256];
};

/*
 * Does the kernel's BTF show resilient spinlocks (rqspinlock_t, ~6.15)? Then
 * its BPF ring buffer and hash map cannot deadlock, and spinning waits may
 * keep aggregated stacks (THE LOCK RULE, bpf/common.bpf.h). Test aid:
 * MMLOCK_PLAIN_LOCKS=1 answers no, to run the old kernels' path here.
 */
static bool kernel_has_resilient_locks(const char *btf_path)
{
	struct btf *btf;
	bool yes;

	if (getenv("MMLOCK_PLAIN_LOCKS"))
		return false;
	btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	if (!btf)
		return false;
	yes = btf__find_by_name_kind(btf, "rqspinlock_t", BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return yes;
}

/* Events per CPU in the lock-free rings: every spin wait at --min-slice below 100 us. */
static __u32 lf_ring_slots(const struct record_opts *o)
{
	return o->min_slice_ns < 100000 ? 4096 : 256;
}

/* The sampler's rate: it samples threads inside uffd ioctls, which --uffd-probes none does not see. */
static __u32 sample_hz(const struct record_opts *o)
{
	return o->no_uffd_probes ? 0 : o->sample_hz;
}

/* Words of tstate_bits: a bit per tid up to pid_max (the BPF default, 4M tids, if unreadable). */
static __u32 tstate_words(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	long pid_max = 0;

	if (!f || fscanf(f, "%ld", &pid_max) != 1 || pid_max <= 0 || pid_max > 4194304)
		pid_max = 4194304;
	if (f)
		fclose(f);
	return (pid_max + 63) / 64;
}

static int configure(struct mmlock_bpf *skel, void *arg)
{
	struct session *s = arg;
	const struct record_opts *o = s->o;
	int bits;

	/* Called before every (re)load of the ladder: a stop request ends it there. */
	if (stop)
		return -EINTR;
	skel->rodata->targ_tgid = s->target_pid;
	skel->rodata->targ_tid = o->tid;
	if (o->comm[0]) {
		skel->rodata->filter_comm = true;
		memcpy((char *)skel->rodata->targ_comm, o->comm, MMLOCK_COMM_LEN);
	}
	skel->rodata->min_slice_ns = o->min_slice_ns;
	skel->rodata->stack_min_ns = o->stack_min_ns;
	/* [chains] Filtered: other threads' long sleeping-lock waits may be the blockers. */
	if (s->target_pid || o->tid || o->comm[0])
		skel->rodata->outside_min_ns = o->chain_min_ns > o->min_slice_ns ?
					       o->chain_min_ns : o->min_slice_ns;
	skel->rodata->want_events = true;	/* the report explains the worst ioctls from events */
	if (s->resilient < 0)
		s->resilient = kernel_has_resilient_locks(o->btf_path);
	skel->rodata->resilient_locks = s->resilient;
	skel->rodata->lf_ring_slots = lf_ring_slots(o);
	skel->rodata->sample_ring_slots = oncpu_ring_slots(sample_hz(o));
	/* Sampler off: neither loaded nor attached, its ring stays minimal. */
	if (!sample_hz(o))
		bpf_program__set_autoload(skel->progs.oncpu_sample, false);
	if (bpf_map__set_max_entries(skel->maps.lf_ring, libbpf_num_possible_cpus() * lf_ring_slots(o)) ||
	    (sample_hz(o) && bpf_map__set_max_entries(skel->maps.sample_ring, libbpf_num_possible_cpus() *
						      oncpu_ring_slots(sample_hz(o)))) ||
	    bpf_map__set_max_entries(skel->maps.tstate_bits, tstate_words()))
		return -1;
	/* Test aid: fewer stack-id bits, so that ids collide (tests/integration/stack_ids.sh). */
	bits = getenv("MMLOCK_STACK_ID_BITS") ? atoi(getenv("MMLOCK_STACK_ID_BITS")) : 0;
	if (bits >= 1 && bits <= 23)
		skel->rodata->stack_id_mask = (1U << bits) - 1;
	/* Test aid: contention programs linger, so interrupts nest in them (tests/integration/nested_waits.sh). */
	if (getenv("MMLOCK_TEST_PROG_DELAY_NS"))
		skel->rodata->test_prog_delay_ns = strtoull(getenv("MMLOCK_TEST_PROG_DELAY_NS"), NULL, 10);
	/* Test aid: the ioctl exit lingers after taking the end (tests/integration/sampler.sh). */
	if (getenv("MMLOCK_TEST_EXIT_DELAY_NS"))
		skel->rodata->test_exit_delay_ns = strtoull(getenv("MMLOCK_TEST_EXIT_DELAY_NS"), NULL, 10);
	/*
	 * Polled every 20 ms: at the default --min-slice (1 ms) events are rare
	 * and 1 MiB is plenty; every wait and ioctl (--min-slice below 100 us)
	 * can reach a million events a second. (The buffer is mapped twice into
	 * our address space, so it counts double in RSS.)
	 */
	return bpf_map__set_max_entries(skel->maps.events,
					o->min_slice_ns < 100000 ? 32 << 20 : 1 << 20);
}

/* One event to the sink and into the recording; frames are the stack cache's. */
static void add_event(struct session *s, const struct mm_event *e, char **frames, int nframes)
{
	struct rec_event *r, ev = {};

	ev.ts_ns = e->ts_ns;
	ev.dur_ns = e->dur_ns;
	ev.addr = e->addr;
	ev.aux_ns = e->aux_ns;
	ev.pid = e->pid;
	ev.tid = e->tid;
	ev.flags = e->flags & ~MM_EV_OUTSIDE;
	ev.outside = e->kind == KIND_LOCK && (e->flags & MM_EV_OUTSIDE);
	ev.ret = e->ret;
	ev.other_tid = e->other_tid;
	ev.kind = e->kind;
	ev.cls = e->cls;
	ev.site = e->site;
	ev.blame_cls = e->blame_cls;
	ev.blame_ns = e->blame_ns;
	memcpy(ev.by_comm, e->by_comm, sizeof(ev.by_comm));
	ev.by_comm[sizeof(ev.by_comm) - 1] = 0;
	if (e->kind == KIND_IOCTL) {
		memcpy(ev.parts, e->parts, sizeof(e->parts));
		parts_settle(ev.parts, ev.dur_ns);
		ev.preempt_ns = ev.parts[PART_PREEMPTED];
		ev.by_ns = e->by_ns;
	} else if (e->kind == KIND_LOCK && e->by_ns && e->other_tid) {
		/* The owner's ioctl during the wait: raw, as taken at its end ([chains]). */
		ev.by_ns = e->by_ns < ev.dur_ns ? e->by_ns : ev.dur_ns;
		memcpy(ev.parts, e->parts, sizeof(e->parts));
		parts_carve(ev.parts);
		parts_settle(ev.parts, ev.by_ns);
	}
	ev.nframes = nframes;
	ev.frames = frames;
	if (s->sink->event) {
		char comm[MMLOCK_COMM_LEN + 1];

		memcpy(comm, e->comm, MMLOCK_COMM_LEN);
		comm[MMLOCK_COMM_LEN] = 0;
		s->sink->event(s->sink->ctx, &ev, comm);
	}
	if (s->rec.nevents >= s->o->max_events) {
		s->rec.events_dropped++;
		return;
	}
	if (grow_array(&s->rec.events, &s->rec.events_cap, s->rec.nevents + 1, sizeof(*r))) {
		s->rec.events_dropped++;
		return;
	}
	r = &s->rec.events[s->rec.nevents++];
	*r = ev;
	r->frames = frames_dup(frames, ev.nframes);
	if (!r->frames)
		r->nframes = 0;
}

/* An event from the ring buffer (its stack by id). */
static int on_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	const struct mm_event *e = data;
	char **frames;
	int n;

	if (size < sizeof(*e))
		return 0;
	n = stack_cache_get(&s->sc, e->stack_id, &frames);
	add_event(s, e, frames, n);
	return 0;
}

/* An event from a lock-free ring (its stack inline). */
static void on_lf_event(void *ctx, const struct mm_event *e, const __u64 *ips, __u32 nframes)
{
	struct session *s = ctx;
	char **frames;
	int n = stack_cache_ips(&s->sc, ips, nframes, &frames);

	add_event(s, e, frames, n);
}

/* tracefs must be mounted for the syscall tracepoints; mount it if we can. */
static int ensure_tracefs(char *err, size_t errlen)
{
	struct stat st;

	if (!stat("/sys/kernel/tracing/events", &st) || !stat("/sys/kernel/debug/tracing/events", &st))
		return 0;
	if (!mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		vnote("mounted tracefs at /sys/kernel/tracing");
		return 0;
	}
	snprintf(err, errlen, "tracefs is not mounted and mounting it failed (%s): "
		 "mount -t tracefs nodev /sys/kernel/tracing", strerror(errno));
	return -ENOENT;
}

/* Effective capabilities from /proc/self/status (no libcap on Android). */
static bool has_bpf_caps(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f;

	if (geteuid() == 0)
		return true;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	/* CAP_SYS_ADMIN (21) alone suffices; else CAP_BPF (39) + CAP_PERFMON (38). */
	return (eff >> 21 & 1) || ((eff >> 39 & 1) && (eff >> 38 & 1));
}

static int precheck(struct session *s, char *err, size_t errlen)
{
	const struct record_opts *o = s->o;
	struct stat st;
	int ret;

	if (o->pid && (ret = target_check_pid(o->pid, err, errlen)))
		return EXIT_USAGE;
	if (o->tid && (ret = target_check_tid(o->tid, err, errlen)))
		return EXIT_USAGE;
	/* -c: the in-kernel filter matches names, so a name that runs later is traced then. */
	if (o->comm[0] && !o->cmd && target_check_comm(o->comm, err, errlen)) {
		if (!o->quiet)
			fprintf(stderr, "mmlock: %s: waiting for it\n", err);
		err[0] = 0;
		s->comm_waiting = true;
	}
	if (o->json_path && check_writable(o->json_path, err, errlen))
		return EXIT_USAGE;
	if (o->perfetto_path && check_writable(o->perfetto_path, err, errlen))
		return EXIT_USAGE;
	if (o->btf_path && access(o->btf_path, R_OK)) {
		snprintf(err, errlen, "--btf %s: %s", o->btf_path, strerror(errno));
		return EXIT_USAGE;
	}
	/* libbpf reads a directory as BTF and fails with "Unknown error 4001". */
	if (o->btf_path && (stat(o->btf_path, &st) || !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "--btf %s: not a regular file (give a BTF file, "
			 "such as a copy of /sys/kernel/btf/vmlinux)", o->btf_path);
		return EXIT_USAGE;
	}
	if (!o->btf_path && access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen, "this kernel has no BTF at /sys/kernel/btf/vmlinux: "
			 "pass a BTF file for it with --btf FILE");
		return EXIT_KERNEL;
	}
	if (!has_bpf_caps()) {
		snprintf(err, errlen, "needs root (or CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON) to load BPF programs");
		return EXIT_KERNEL;
	}
	if (ensure_tracefs(err, errlen))
		return EXIT_KERNEL;
	return 0;
}

/*
 * Kernel symbols (markers now, stacks later). Read after the BPF load, whose
 * copy of the kernel BTF is freed by then: together they would push the
 * loader's peak RSS over 16 MiB; one after the other costs ~0.1 s.
 */
static void load_symbols(struct session *s)
{
	s->ksyms_ret = ksyms_load(&s->ks, "/proc/kallsyms", s->ksyms_err, sizeof(s->ksyms_err));
	if (!s->ksyms_ret) {
		s->nmarkers = markers_resolve(&s->ks, s->markers, MMLOCK_MAX_MARKERS);
		vnote("%u marker function ranges resolved", s->nmarkers);
	}
}

static void fill_meta(struct session *s)
{
	const struct record_opts *o = s->o;
	struct recording *rec = &s->rec;
	struct utsname u;

	snprintf(rec->tool_version, sizeof(rec->tool_version), "%s", MMLOCK_VERSION);
	if (!uname(&u)) {
		snprintf(rec->kernel, sizeof(rec->kernel), "%.127s", u.release);
		snprintf(rec->arch, sizeof(rec->arch), "%.31s", u.machine);
	}
	rec->clk_boottime_ns = now_ns(CLOCK_BOOTTIME);
	rec->clk_monotonic_ns = now_ns(CLOCK_MONOTONIC);
	rec->clk_realtime_ns = now_ns(CLOCK_REALTIME);
	rec->start_ns = rec->clk_boottime_ns;
	rec->filter_pid = s->target_pid;
	rec->filter_tid = o->tid;
	memcpy(rec->filter_comm, o->comm, sizeof(rec->filter_comm));
	if (o->comm[0] && !o->cmd)
		rec->filter_comm_seen = s->comm_waiting ? -1 : 1;
	rec->min_slice_ns = o->min_slice_ns;
	rec->stack_min_ns = o->stack_min_ns;
	rec->chain_min_ns = o->chain_min_ns;
	rec->plain_locks = !s->resilient;
	rec->no_uffd_probes = o->no_uffd_probes;
	rec->max_cpu_samples = MAX_CPU_SAMPLES;
}

/* The loaded object's inputs and outputs: the marker map, the stack cache, the rings. */
static int open_channels(struct session *s, char *err, size_t errlen)
{
	struct mmlock_bpf *skel = s->ladder.skel;
	int ret;

	skel->bss->nr_markers = s->nmarkers;
	for (unsigned int i = 0; i < s->nmarkers; i++)
		if (bpf_map__update_elem(skel->maps.markers, &i, sizeof(i),
					 &s->markers[i], sizeof(s->markers[i]), BPF_ANY)) {
			snprintf(err, errlen, "cannot fill the marker map: %s", strerror(errno));
			return EXIT_KERNEL;
		}
	stack_cache_init(&s->sc, bpf_map__fd(skel->maps.stacks), &s->ks);
	s->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, s, NULL);
	if (!s->rb) {
		snprintf(err, errlen, "cannot set up the ring buffer: %s", strerror(errno));
		return EXIT_KERNEL;
	}
	ret = lf_open(&s->lf, bpf_map__fd(skel->maps.lf_hists), bpf_map__fd(skel->maps.lf_ring),
		      skel->bss->lf_head, libbpf_num_possible_cpus(), lf_ring_slots(s->o));
	if (ret) {
		snprintf(err, errlen, "cannot map the lock-free wait tables: %s", strerror(-ret));
		return EXIT_KERNEL;
	}
	return 0;
}

static int setup(struct session *s, char *err, size_t errlen)
{
	const struct record_opts *o = s->o;
	int ret;

	ret = precheck(s, err, errlen);
	if (ret)
		return ret;
	if (stop)
		return interrupted(err, errlen);
	if (o->cmd) {
		if (target_spawn(&s->child, o->cmd, err, errlen))
			return EXIT_USAGE;
		s->have_child = true;
		s->target_pid = s->child.pid;
		child_pid = s->child.pid;
	} else {
		s->target_pid = o->pid;
	}
	ret = ladder_load(&s->ladder, o->family, o->no_uffd_probes, o->btf_path, configure, s, err,
			  errlen);
	if (stop)
		return interrupted(err, errlen);
	if (ret)
		return EXIT_KERNEL;
#ifdef __GLIBC__
	malloc_trim(0);	/* libbpf's copy of the kernel BTF is gone: give it back */
#endif
	load_symbols(s);
	if (stop)
		return interrupted(err, errlen);
	if (s->ksyms_ret) {
		snprintf(err, errlen, "%s", s->ksyms_err);
		return EXIT_KERNEL;
	}
	ret = open_channels(s, err, errlen);
	if (ret)
		return ret;
	fill_meta(s);
	/* Who made it, for fleet engines (docs/fleet.md): labels were checked by cmd/record.c. */
	ret = recording_identify(&s->rec, o->device, o->labels, o->nlabels);
	if (ret) {
		snprintf(err, errlen, "cannot make a recording id: %s", strerror(-ret));
		return EXIT_KERNEL;
	}
	if (s->sink->open && (ret = s->sink->open(s->sink->ctx, &s->rec, err, errlen)))
		return ret;
	if (stop)
		return interrupted(err, errlen);
	if (ladder_attach(&s->ladder, err, errlen))
		return EXIT_KERNEL;
	if (stop)
		return interrupted(err, errlen);
	ret = oncpu_start(&s->oncpu, &s->ladder, sample_hz(o), &s->ks, &s->rec, o->quiet, err, errlen);
	if (ret)
		return ret;
	if (o->no_uffd_probes && o->sample_hz)
		snprintf(s->rec.sampler.why, sizeof(s->rec.sampler.why),
			 "off (--uffd-probes none: no uffd ioctl to sample)");
	s->ladder.skel->bss->folio_probed = ladder_attached(&s->ladder, "folio_lock");
	s->rec.probes = calloc(s->ladder.nprobes, sizeof(*s->rec.probes));
	if (s->rec.probes) {
		memcpy(s->rec.probes, s->ladder.result, s->ladder.nprobes * sizeof(*s->rec.probes));
		s->rec.nprobes = s->ladder.nprobes;
	}
	return 0;
}

static void live_snapshot(struct session *s)
{
	struct recording snap = {};

	if (collect_maps(s->ladder.skel, &s->lf, &snap, &s->sc, 1) == 0) {
		snap.start_ns = s->rec.start_ns;
		snap.end_ns = now_ns(CLOCK_BOOTTIME);
		recording_sort(&snap);
		s->sink->live(s->sink->ctx, &snap);
	}
	recording_free(&snap);
}

static int run_loop(struct session *s, char *err, size_t errlen)
{
	const struct record_opts *o = s->o;
	__u64 start = now_ns(CLOCK_BOOTTIME), t;
	__u64 next_sample = start + SAMPLE_NS, next_live = start + o->interval_ns, next_alive = 0;
	__u64 next_comm = 0;
	struct timespec nap = { 0, POLL_MS * 1000000L };
	int n, ret = 0;

	if (s->have_child)
		target_release(&s->child);
	while (!stop) {
		n = ring_buffer__consume(s->rb);
		if (n < 0) {
			snprintf(err, errlen, "cannot read the ring buffer: %s", strerror(-n));
			ret = EXIT_KERNEL;
			break;
		}
		/* A busy ring buffer is drained again at once, a quiet one every 20 ms. */
		lf_drain(&s->lf, false, on_lf_event, s);
		oncpu_drain(&s->oncpu, &s->rec, false);
		if (n < 1000)
			nanosleep(&nap, NULL);
		t = now_ns(CLOCK_BOOTTIME);
		if (t >= next_sample) {
			collect_sample(s->ladder.skel, &s->lf, &s->rec, &s->sampler, t);
			next_sample += SAMPLE_NS;
		}
		if (o->interval_ns && s->sink->live && t >= next_live) {
			live_snapshot(s);
			next_live += o->interval_ns;
		}
		if (o->duration_ns && t - start >= o->duration_ns)
			break;
		if (s->have_child && target_exited(&s->child))
			break;
		/* -c: until a thread of that name is seen, look for one (the report says if none ran). */
		if (s->rec.filter_comm_seen < 0 && t >= next_comm) {
			if (target_comm_running(o->comm))
				s->rec.filter_comm_seen = 1;
			next_comm = t + COMM_SCAN_NS;
		}
		/* -p: the process is gone, nothing more to see. */
		if (o->pid && t >= next_alive) {
			if (kill(o->pid, 0) && errno == ESRCH)
				break;
			next_alive = t + 200000000ULL;
		}
	}
	/* Detached first: the maps then hold a final, consistent state. */
	ladder_detach(&s->ladder);
	oncpu_detach(&s->oncpu);
	n = ring_buffer__consume(s->rb);
	if (n < 0 && !ret) {
		snprintf(err, errlen, "cannot read the ring buffer: %s", strerror(-n));
		ret = EXIT_KERNEL;
	}
	lf_drain(&s->lf, true, on_lf_event, s);
	oncpu_drain(&s->oncpu, &s->rec, true);
	oncpu_stats(&s->oncpu, &s->ladder, &s->rec);
	s->rec.end_ns = now_ns(CLOCK_BOOTTIME);
	collect_sample(s->ladder.skel, &s->lf, &s->rec, &s->sampler, s->rec.end_ns);
	return ret;
}

static int finish(struct session *s, char *err, size_t errlen)
{
	if (collect_maps(s->ladder.skel, &s->lf, &s->rec, &s->sc, STACKS_PER_THREAD)) {
		snprintf(err, errlen, "out of memory while reading the maps");
		return EXIT_KERNEL;
	}
	recording_sort(&s->rec);
	if (oncpu_file_events(&s->rec)) {
		snprintf(err, errlen, "out of memory while filing the on-CPU samples");
		return EXIT_KERNEL;
	}
	if (chains_build(&s->rec)) {
		snprintf(err, errlen, "out of memory while building the blocker chains");
		return EXIT_KERNEL;
	}
	return s->sink->finish ? s->sink->finish(s->sink->ctx, &s->rec, err, errlen) : EXIT_OK;
}

int record_main(const struct record_opts *o, const struct record_sink *sink)
{
	struct session s = { .o = o, .sink = sink, .resilient = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512] = "", err2[512];
	int ret, lost;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = setup(&s, err, sizeof(err));
	if (!ret) {
		if (!o->quiet)
			fprintf(stderr, "mmlock: recording%s%s... (Ctrl-C to stop)\n",
				o->duration_ns ? " for " : "",
				o->duration_ns ? fmt_ns(o->duration_ns, (char[32]){}, 32) : "");
		lost = run_loop(&s, err, sizeof(err));
		/* What was read before a ring buffer failure is still written. */
		ret = finish(&s, lost ? err2 : err, lost ? sizeof(err2) : sizeof(err));
		if (lost)
			ret = lost;
	}
	if (err[0])
		errmsg("%s", err);
	if (sink->close)
		sink->close(sink->ctx);
	if (s.have_child) {
		target_stop(&s.child);
		child_pid = 0;
		/* 127: the child could not exec the command (it said why). */
		if (!ret && WIFEXITED(s.child.status) && WEXITSTATUS(s.child.status) == 127)
			ret = EXIT_USAGE;
		else if (!ret && WIFEXITED(s.child.status) && WEXITSTATUS(s.child.status))
			errmsg("note: the command exited with status %d", WEXITSTATUS(s.child.status));
	}
	ring_buffer__free(s.rb);
	lf_close(&s.lf);
	oncpu_free(&s.oncpu);
	stack_cache_free(&s.sc);
	ladder_destroy(&s.ladder);
	ksyms_free(&s.ks);
	sampler_free(&s.sampler);
	recording_free(&s.rec);
	return ret;
}
