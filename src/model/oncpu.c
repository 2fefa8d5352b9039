// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The on-CPU samples ([breakdown], docs/breakdown.md): each one is filed
 * under the thread x command it was taken in (all samples), and under its
 * ioctl's event when that ioctl was kept (from the kept samples). A sample
 * counts under two names: its leaf function (where the CPU was) and "via",
 * the innermost frame that is no generic helper (where in mm it came from):
 * `native_queued_spin_lock_slowpath` via `move_pages_ptes` and via
 * `folio_lock_anon_vma_read` are different stories.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/recording.h"
#include "lib/util.h"

const char *frame_func(const char *frame, char *buf, size_t len)
{
	size_t n = strcspn(frame, "+");

	if (n >= len)
		n = len - 1;
	memcpy(buf, frame, n);
	buf[n] = 0;
	return buf;
}

/*
 * Generic machinery a sample's leaf is often in, named by prefix: locking
 * and spinning, cross-CPU calls and TLB flushes, interrupt entry, the
 * timer tick, the scheduler; and tracers' own frames (BPF programs and
 * trampolines, kretprobe/rethook returns: a 6.17 guest read "rwsem_spin_on_owner
 * via bpf_prog_..._uffd_ioctl_exit", mmlock's own fexit program). "via" skips
 * them to reach the caller that explains why they ran.
 */
static const char *const helper_prefixes[] = {
	"_raw_", "raw_", "do_raw_", "native_queued_spin", "queued_", "__pv_queued", "pv_",
	"rwsem_", "osq_", "down_", "up_", "__down", "__up", "mutex_", "__mutex", "__rwsem",
	"smp_call_function", "on_each_cpu", "flush_tlb", "native_flush_tlb", "__flush_tlb",
	"flush_smp_call", "generic_smp_call", "__smp_call", "llist_", "default_send_IPI",
	"native_send_call_func", "x2apic_", "__x2apic", "send_call_function",
	"asm_", "sysvec_", "__sysvec", "irq_", "__irq", "handle_irq", "handle_edge",
	"__do_softirq", "do_softirq", "handle_softirqs", "__softirq", "hrtimer_", "__hrtimer",
	"tick_", "update_process_times", "sched_tick", "scheduler_tick", "__schedule",
	"schedule", "preempt_schedule", "_cond_resched", "__cond_resched", "finish_task_switch",
	"cpumask_", "_find_next", "__bitmap", "delay_", "native_", "arch_", "__x86_",
	"entry_", "do_syscall", "__x64_sys", "__arm64_sys", "el0_", "invoke_syscall",
	"bpf_prog_", "bpf_trampoline_", "__bpf_prog_", "bpf_trace_run", "trace_call_bpf",
	"rethook_", "arch_rethook", "kretprobe_", "__kretprobe",
};

static bool is_helper(const char *func)
{
	for (size_t i = 0; i < sizeof(helper_prefixes) / sizeof(helper_prefixes[0]); i++)
		if (!strncmp(func, helper_prefixes[i], strlen(helper_prefixes[i])))
			return true;
	return false;
}

int oncpu_via(char **frames, int n)
{
	char buf[256];

	for (int i = 0; i < n; i++)
		if (!is_helper(frame_func(frames[i], buf, sizeof(buf))))
			return i;
	return -1;
}

void cpu_sample_free(struct rec_cpu_sample *s)
{
	frames_free(s->frames, s->nframes);
	s->frames = NULL;
	s->nframes = 0;
}

struct rec_oncpu *oncpu_get(struct recording *rec, __u32 tid, __u8 cmd, __u64 ioctl_ts)
{
	struct rec_oncpu *o;

	/* Newest first: samples come in time order, so their ioctl is most often the last one. */
	for (size_t i = rec->noncpu; i-- > 0;) {
		o = &rec->oncpu[i];
		if (o->tid == tid && o->cmd == cmd && o->ioctl_ts_ns == ioctl_ts)
			return o;
	}
	if (grow_array(&rec->oncpu, &rec->oncpu_cap, rec->noncpu + 1, sizeof(*o)))
		return NULL;
	o = &rec->oncpu[rec->noncpu++];
	memset(o, 0, sizeof(*o));
	o->tid = tid;
	o->cmd = cmd;
	o->ioctl_ts_ns = ioctl_ts;
	return o;
}

const struct rec_oncpu *oncpu_find(const struct recording *rec, __u32 tid, __u8 cmd,
				   __u64 ioctl_ts)
{
	for (size_t i = 0; i < rec->noncpu; i++) {
		const struct rec_oncpu *o = &rec->oncpu[i];

		if (o->tid == tid && o->cmd == cmd && o->ioctl_ts_ns == ioctl_ts)
			return o;
	}
	return NULL;
}

int oncpu_count(struct rec_oncpu *o, const char *func, const char *via, __u64 n)
{
	struct rec_func *f;

	for (size_t i = 0; i < o->nfuncs; i++) {
		f = &o->funcs[i];
		if (!strcmp(f->func, func) && !strcmp(f->via, via)) {
			f->samples += n;
			return 0;
		}
	}
	if (grow_array(&o->funcs, &o->funcs_cap, o->nfuncs + 1, sizeof(*f)))
		return -ENOMEM;
	f = &o->funcs[o->nfuncs];
	f->func = strdup(func);
	f->via = strdup(via);
	f->samples = n;
	if (!f->func || !f->via) {
		free(f->func);
		free(f->via);
		return -ENOMEM;
	}
	o->nfuncs++;
	return 0;
}

/* Count sample s into o under its leaf function and via. */
static int count_sample(struct rec_oncpu *o, const struct rec_cpu_sample *s)
{
	char func[256], via[256] = "";
	int v = oncpu_via(s->frames, s->nframes);

	o->samples++;
	if (!s->nframes)
		return oncpu_count(o, "[no stack]", "", 1);
	frame_func(s->frames[0], func, sizeof(func));
	if (v > 0)
		frame_func(s->frames[v], via, sizeof(via));
	return oncpu_count(o, func, via, 1);
}

int oncpu_add(struct recording *rec, struct rec_cpu_sample *s)
{
	struct rec_oncpu *o = oncpu_get(rec, s->tid, s->cmd, 0);
	int ret = o ? count_sample(o, s) : -ENOMEM;

	if (!ret && rec->ncpu_samples < rec->max_cpu_samples &&
	    !grow_array(&rec->cpu_samples, &rec->cpu_samples_cap, rec->ncpu_samples + 1,
			sizeof(*s))) {
		rec->cpu_samples[rec->ncpu_samples++] = *s;
		return 0;
	}
	rec->sampler.not_kept++;
	cpu_sample_free(s);
	return ret;
}

struct ts_key {
	const struct recording *rec;
	__u64 ts;
};

static bool event_before(const void *ctx, size_t i)
{
	const struct ts_key *k = ctx;

	return k->rec->events[i].ts_ns < k->ts;
}

/* The first event starting at or after ts (events in ts order). */
static size_t event_at(const struct recording *rec, __u64 ts)
{
	struct ts_key k = { rec, ts };

	return first_not_below(rec->nevents, &k, event_before);
}

int oncpu_file_events(struct recording *rec)
{
	for (size_t i = 0; i < rec->ncpu_samples; i++) {
		const struct rec_cpu_sample *s = &rec->cpu_samples[i];

		for (size_t j = event_at(rec, s->ioctl_ts_ns);
		     j < rec->nevents && rec->events[j].ts_ns == s->ioctl_ts_ns; j++) {
			const struct rec_event *e = &rec->events[j];
			struct rec_oncpu *o;

			if (e->kind != KIND_IOCTL || e->tid != s->tid)
				continue;
			o = oncpu_get(rec, s->tid, e->cls, s->ioctl_ts_ns);
			if (!o || count_sample(o, s))
				return -ENOMEM;
			break;
		}
	}
	oncpu_sort(rec);
	return 0;
}

static int cmp_func(const void *a, const void *b)
{
	const struct rec_func *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return strcmp(x->func, y->func) ?: strcmp(x->via, y->via);
}

void oncpu_sort(struct recording *rec)
{
	for (size_t i = 0; i < rec->noncpu; i++)
		sort_array(rec->oncpu[i].funcs, rec->oncpu[i].nfuncs, sizeof(struct rec_func),
			   cmp_func);
}
