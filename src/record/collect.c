// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "record/collect.h"
#include "record/sampler.h"
#include "mmlock.skel.h"
#include "record/target.h"
#include "lib/util.h"

/* Samples kept (2 MiB at 128 bytes each): 4.5 h of one busy process, 7 min of 40. */
#define MAX_SAMPLES	16384

typedef int (*map_entry_fn)(void *ctx, const void *key, const void *val);

/*
 * Every entry of a BPF hash map: fn(ctx, key, value) for each key still there
 * when looked up (the probes add and delete entries while we walk). Stops at
 * fn's first nonzero return and returns it; -ENOMEM if no buffers.
 */
static int map_walk(const struct bpf_map *map, map_entry_fn fn, void *ctx)
{
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	int fd = bpf_map__fd(map), ret = 0;
	char *buf = malloc(2 * ksz + vsz), *key = buf, *next = buf + ksz, *val = buf + 2 * ksz;
	void *prev = NULL;

	if (!buf)
		return -ENOMEM;
	while (!ret && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		if (!bpf_map_lookup_elem(fd, key, val))
			ret = fn(ctx, key, val);
	}
	free(buf);
	return ret;
}

void stack_cache_init(struct stack_cache *sc, int stacks_fd, const struct ksyms *ks)
{
	memset(sc, 0, sizeof(*sc));
	sc->stacks_fd = stacks_fd;
	sc->ks = ks;
}

void stack_cache_free(struct stack_cache *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		frames_free(sc->e[i].frames, sc->e[i].nframes);
	free(sc->e);
	memset(sc, 0, sizeof(*sc));
}

char **frames_dup(char **frames, int n)
{
	char **out;

	if (!n)
		return NULL;
	out = calloc(n, sizeof(*out));
	for (int i = 0; out && i < n; i++)
		if (!(out[i] = strdup(frames[i]))) {
			frames_free(out, i);
			return NULL;
		}
	return out;
}

/* A new cache entry (NULL if out of memory); the caller fills its frames. */
static struct stack_entry *stack_cache_new(struct stack_cache *sc, __s32 id)
{
	struct stack_entry *e;

	if (grow_array(&sc->e, &sc->cap, sc->n + 1, sizeof(*sc->e)))
		return NULL;
	e = &sc->e[sc->n];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->frames = calloc(MMLOCK_STACK_DEPTH, sizeof(char *));
	return e->frames ? e : NULL;
}

/* Symbolize ips into a new entry and keep it; its frame count, or 0 (nothing kept). */
static int stack_entry_fill(struct stack_cache *sc, struct stack_entry *e, const __u64 *ips,
			    __u32 n)
{
	char buf[256];
	int i = 0;

	for (; i < (int)n && i < MMLOCK_STACK_DEPTH && ips[i]; i++)
		if (!(e->frames[i] = strdup(ksyms_fmt(sc->ks, ips[i], buf, sizeof(buf))))) {
			frames_free(e->frames, i);
			e->frames = NULL;
			return 0;
		}
	e->nframes = i;
	sc->n++;
	return i;
}

int stack_cache_get(struct stack_cache *sc, __s32 id, char ***frames)
{
	__u64 ips[MMLOCK_STACK_DEPTH];
	struct stack_entry *e;
	int n;

	*frames = NULL;
	if (id < 0)
		return 0;
	/* Linear scan is fine: a recording has a few hundred distinct stacks. */
	for (size_t i = 0; i < sc->n; i++)
		if (sc->e[i].id == id) {
			*frames = sc->e[i].frames;
			return sc->e[i].nframes;
		}
	if (bpf_map_lookup_elem(sc->stacks_fd, &id, ips))
		return 0;
	e = stack_cache_new(sc, id);
	if (!e)
		return 0;
	n = stack_entry_fill(sc, e, ips, MMLOCK_STACK_DEPTH);
	*frames = e->frames;
	return n;
}

/*
 * Stacks read inline get ids of their own: bit 30 set, above the BPF side's
 * 23-bit ids, from an FNV-1a hash of the frames. Equal ids are compared
 * frame by frame (symbolized), so a hash collision never mixes two stacks.
 */
int stack_cache_ips(struct stack_cache *sc, const __u64 *ips, __u32 n, char ***frames)
{
	__u32 hash = 2166136261u;
	struct stack_entry *e;
	char buf[256];
	__s32 id;
	int got;

	*frames = NULL;
	if (!n)
		return 0;
	for (__u32 i = 0; i < n; i++)
		hash = (hash ^ (__u32)ips[i] ^ (__u32)(ips[i] >> 32)) * 16777619u;
	id = (__s32)((hash & 0x3fffffff) | 0x40000000);
	for (size_t i = 0; i < sc->n; i++) {
		int same = sc->e[i].id == id && sc->e[i].nframes == (int)n;

		for (__u32 f = 0; same && f < n; f++)
			same = !strcmp(sc->e[i].frames[f], ksyms_fmt(sc->ks, ips[f], buf, sizeof(buf)));
		if (same) {
			*frames = sc->e[i].frames;
			return sc->e[i].nframes;
		}
	}
	e = stack_cache_new(sc, id);
	if (!e)
		return 0;
	got = stack_entry_fill(sc, e, ips, n);
	*frames = e->frames;
	return got;
}

static void fill_names(int fd, struct recording *rec)
{
	for (size_t i = 0; i < rec->nthreads; i++) {
		struct rec_thread *t = &rec->threads[i];
		struct mm_thread ti;
		char name[64];

		if (bpf_map_lookup_elem(fd, &t->tid, &ti))
			continue;
		t->pid = ti.pid;
		memcpy(t->comm, ti.comm, sizeof(t->comm));
		memcpy(t->pcomm, ti.pcomm, sizeof(t->pcomm));
		t->comm[sizeof(t->comm) - 1] = t->pcomm[sizeof(t->pcomm) - 1] = 0;
		/* A thread renamed after its first event: prefer its name now. */
		if (thread_comm(t->pid, t->tid, name, sizeof(name)))
			snprintf(t->comm, sizeof(t->comm), "%.15s", name);
		else
			t->exited = true;
	}
}

static int cmp_stack_total(const void *a, const void *b)
{
	const struct rec_stack *x = a, *y = b;

	return (x->total_ns < y->total_ns) - (x->total_ns > y->total_ns);
}

struct stacks_ctx {
	struct recording *rec;
	struct stack_cache *sc;
};

static int add_stack(void *ctx, const void *k, const void *v)
{
	struct stacks_ctx *c = ctx;
	const struct stack_key *key = k;
	const struct stack_val *val = v;
	struct rec_thread *t = recording_thread(c->rec, key->tid);
	struct rec_stack *s;
	char **frames;

	if (!t || grow_array(&t->stacks, &t->stacks_cap, t->nstacks + 1, sizeof(*t->stacks)))
		return -ENOMEM;
	s = &t->stacks[t->nstacks++];
	memset(s, 0, sizeof(*s));
	s->kind = key->kind;
	s->cls = key->cls;
	s->site = key->site;
	s->count = val->count;
	s->total_ns = val->total_ns;
	s->max_ns = val->max_ns;
	s->nframes = stack_cache_get(c->sc, key->stack_id, &frames);
	s->frames = frames_dup(frames, s->nframes);
	if (!s->frames)
		s->nframes = 0;
	return 0;
}

/* Out of memory: the stacks read so far are kept (they are only the report's detail). */
static void fill_stacks(const struct bpf_map *map, struct recording *rec, struct stack_cache *sc,
			size_t keep)
{
	struct stacks_ctx c = { rec, sc };

	map_walk(map, add_stack, &c);
	/* Keep the heaviest stacks of each thread. */
	for (size_t i = 0; i < rec->nthreads; i++) {
		struct rec_thread *t = &rec->threads[i];

		sort_array(t->stacks, t->nstacks, sizeof(*t->stacks), cmp_stack_total);
		while (t->nstacks > keep) {
			struct rec_stack *s = &t->stacks[--t->nstacks];

			frames_free(s->frames, s->nframes);
		}
	}
}

/* The thread's hot ioctl histogram (struct hot_ioctls), into its KIND_IOCTL hist. */
static int fold_hot(struct rec_thread *t, const struct hot_ioctls *hot)
{
	__u8 nr = (hot->cmd - 1) & 0xff;
	struct rec_hist *h, part = { .count = hot->count, .total_ns = hot->total_ns,
				     .max_ns = hot->max_ns, .aux_ns = hot->errors };

	if (!hot->cmd || !hot->count)
		return 0;
	h = thread_hist(t, KIND_IOCTL, nr, mm_uffd_site(nr));
	if (!h)
		return -ENOMEM;
	memcpy(&part.slots[HOT_SLOT0], hot->slots, sizeof(hot->slots));
	memcpy(part.parts, hot->parts, sizeof(hot->parts));
	parts_settle(part.parts, part.total_ns);
	hist_merge(h, &part);
	return 0;
}

/* A uffd ioctl that returned to user space but was not yet ended in the kernel. */
static int flush_ioctl(struct rec_thread *t, const struct inflight *in)
{
	struct rec_hist *h, part = {};
	__u64 dur = in->exit_ts - in->ts;

	if (in->state != IOCTL_EXITED && in->state != IOCTL_RESCHEDULED)
		return 0;
	h = thread_hist(t, KIND_IOCTL, in->cmd & 0xff, mm_uffd_site(in->cmd & 0xff));
	if (!h)
		return -ENOMEM;
	/* Ended at its exit, as the BPF side would: running from its last switch-in to there. */
	hist_add_sample(&part, dur, in->ret < 0);
	memcpy(part.parts, in->parts, sizeof(in->parts));
	if (in->on_ts && in->exit_ts > in->on_ts)
		part.parts[PART_ON_CPU] += in->exit_ts - in->on_ts;
	parts_carve(part.parts);
	parts_settle(part.parts, dur);
	hist_merge(h, &part);
	return 0;
}

/*
 * What live threads' states hold that `hists` does not yet: the hot ioctl
 * histogram, and an ioctl that returned but was not yet ended in the kernel
 * (that happens at the thread's next switch-out or uffd ioctl).
 */
static int fold_state(void *ctx, const void *key, const void *val)
{
	struct recording *rec = ctx;
	const struct thread_state *ts = val;
	struct rec_thread *t;

	rec->live_states++;
	if (!ts->hot.count && ts->io.state != IOCTL_EXITED && ts->io.state != IOCTL_RESCHEDULED)
		return 0;
	t = recording_thread(rec, *(const __u32 *)key);
	if (!t || fold_hot(t, &ts->hot) || flush_ioctl(t, &ts->io))
		return -ENOMEM;
	return 0;
}

/* Runs the kernel skipped because another BPF program was active on the CPU. */
static __u64 prog_misses(struct mmlock_bpf *skel)
{
	struct bpf_program *p;
	__u64 misses = 0;

	bpf_object__for_each_program(p, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		/* The sampler's skipped runs lose samples, not cuts of the breakdown (sampler.lost). */
		if (!strcmp(bpf_program__name(p), ONCPU_PROG))
			continue;
		if (bpf_program__fd(p) >= 0 && !bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			misses += info.recursion_misses;
	}
	return misses;
}

/* Names for tid 0: waits in interrupt context, whoever they interrupted. */
#define IRQ_THREAD_NAME "[interrupts]"

/* One lock-free histogram into the recording (merged: a key may also be in `hists`). */
static int merge_lf_hist(void *ctx, const struct lf_hist *e, __u32 tid, __u8 kind, __u8 cls,
			 __u8 site)
{
	struct recording *rec = ctx;
	struct rec_thread *t = recording_thread(rec, tid);
	struct rec_hist *h, part = { .count = e->h.count, .total_ns = e->h.total_ns,
				     .max_ns = e->h.max_ns, .aux_ns = e->h.aux_ns };

	if (!t)
		return -ENOMEM;
	if (!t->comm[0]) {	/* `threads` may not know it: names from the entry */
		t->pid = e->pid;
		snprintf(t->comm, sizeof(t->comm), "%s", tid ? e->comm : IRQ_THREAD_NAME);
		if (!tid)
			snprintf(t->pcomm, sizeof(t->pcomm), "%s", IRQ_THREAD_NAME);
	}
	h = thread_hist(t, kind, cls, site);
	if (!h)
		return -ENOMEM;
	memcpy(part.slots, e->h.slots, sizeof(part.slots));
	hist_merge(h, &part);
	return 0;
}

/* One entry of `hists` into the recording. */
static int add_hist(void *ctx, const void *k, const void *v)
{
	const struct hist_key *key = k;
	const struct hist *val = v;
	struct rec_thread *t = recording_thread(ctx, key->tid);
	struct rec_hist *h = t ? thread_hist(t, key->kind, key->cls, key->site) : NULL;

	if (!h)
		return -ENOMEM;
	h->count = val->count;
	h->total_ns = val->total_ns;
	h->max_ns = val->max_ns;
	h->aux_ns = val->aux_ns;
	memcpy(h->slots, val->slots, sizeof(h->slots));
	if (key->kind == KIND_IOCTL) {
		memcpy(h->parts, val->parts, sizeof(val->parts));
		parts_settle(h->parts, h->total_ns);
	}
	return 0;
}

int collect_maps(struct mmlock_bpf *skel, const struct lf_view *lf, struct recording *rec,
		 struct stack_cache *sc, size_t stacks_per_thread)
{
	if (map_walk(skel->maps.hists, add_hist, rec) ||
	    map_walk(skel->maps.tstates, fold_state, rec) ||
	    lf_for_each_hist(lf, merge_lf_hist, rec))
		return -ENOMEM;
	fill_names(bpf_map__fd(skel->maps.threads), rec);
	fill_stacks(skel->maps.stack_aggs, rec, sc, stacks_per_thread);
	for (int i = 0; i < NR_COUNTERS; i++)
		rec->counters[i] = skel->bss->counters[i];
	rec->counters[CNT_PROG_MISSES] = prog_misses(skel);
	rec->counters[CNT_SPIN_EVENT_LOST] = lf->events.lost;
	return 0;
}

/*
 * Per-process totals as of the previous sample, sorted by pid. Besides the
 * totals, when the process last got a sample and whether that one was
 * non-zero: a process gets a sample only while it is active, plus a zero
 * one when it goes quiet, so that a system-wide recording does not append a
 * row of zeros per process ever seen, every second.
 */
struct proc_total {
	__u32 pid;
	bool active;		/* its last sample was non-zero */
	__u64 sampled_ts;	/* ts of its last sample, 0 if none */
	__u64 waits[NR_CLASSES];
	__u64 ioctls;
};

/* Find or add pid (sorted insert, the array doubles); NULL on ENOMEM. */
static struct proc_total *proc_total(struct proc_set *set, __u32 pid)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (set->p[mid].pid == pid)
			return &set->p[mid];
		if (set->p[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (grow_array(&set->p, &set->cap, set->n + 1, sizeof(*set->p)))
		return NULL;
	memmove(&set->p[lo + 1], &set->p[lo], (set->n - lo) * sizeof(*set->p));
	set->n++;
	memset(&set->p[lo], 0, sizeof(set->p[lo]));
	set->p[lo].pid = pid;
	return &set->p[lo];
}

/*
 * Growth of a total since the last sample. Totals only grow; a dip (a count
 * moving from a thread's state into `hists` while we read) counts as none.
 */
static __u64 advance(__u64 *last, __u64 now)
{
	__u64 d = now > *last ? now - *last : 0;

	if (now > *last)
		*last = now;
	return d;
}

/* One more sample (the array doubles; bounded by MAX_SAMPLES); NULL if not kept. */
static struct rec_sample *add_sample(struct recording *rec, __u64 ts, __u32 pid)
{
	struct rec_sample *s;

	if (rec->nsamples >= MAX_SAMPLES) {
		rec->samples_dropped++;
		return NULL;
	}
	if (grow_array(&rec->samples, &rec->samples_cap, rec->nsamples + 1, sizeof(*s))) {
		rec->samples_dropped++;
		return NULL;
	}
	s = &rec->samples[rec->nsamples++];
	memset(s, 0, sizeof(*s));
	s->ts_ns = ts;
	s->pid = pid;
	return s;
}

/* Lock-free histograms count toward their process's waits (tid 0: pid 0). */
static int sample_lf_hist(void *ctx, const struct lf_hist *e, __u32 tid, __u8 kind, __u8 cls,
			  __u8 site)
{
	struct proc_total *p;

	(void)site;
	if (kind != KIND_LOCK || cls >= NR_CLASSES)
		return 0;
	p = proc_total(ctx, tid ? e->pid : 0);
	if (!p)
		return -ENOMEM;
	p->waits[cls] += e->h.count;
	return 0;
}

struct sample_ctx {
	struct proc_set now;
	int threads_fd;		/* tid -> struct mm_thread: its pid */
};

/* The process of a thread, in this sample's totals; NULL if gone (or no memory: ret). */
static struct proc_total *sample_proc(struct sample_ctx *c, __u32 tid, int *ret)
{
	struct mm_thread ti;
	struct proc_total *p;

	if (bpf_map_lookup_elem(c->threads_fd, &tid, &ti))
		return NULL;
	p = proc_total(&c->now, ti.pid);
	if (!p)
		*ret = -ENOMEM;
	return p;
}

static int sample_hist(void *ctx, const void *k, const void *v)
{
	const struct hist_key *key = k;
	const struct hist *val = v;
	struct proc_total *p;
	int ret = 0;

	if (key->kind != KIND_LOCK && key->kind != KIND_IOCTL)
		return 0;
	p = sample_proc(ctx, key->tid, &ret);
	if (!p)
		return ret;
	if (key->kind == KIND_IOCTL)
		p->ioctls += val->count;
	else if (key->cls < NR_CLASSES)
		p->waits[key->cls] += val->count;
	return 0;
}

/* Live threads' hot ioctls (a thread exiting meanwhile may be missed once). */
static int sample_state(void *ctx, const void *key, const void *val)
{
	const struct thread_state *ts = val;
	struct proc_total *p;
	int ret = 0;

	if (!ts->hot.count)
		return 0;
	p = sample_proc(ctx, *(const __u32 *)key, &ret);
	if (p)
		p->ioctls += ts->hot.count;
	return ret;
}

int collect_sample(struct mmlock_bpf *skel, const struct lf_view *lf, struct recording *rec,
		   struct sampler *sm, __u64 ts_ns)
{
	struct sample_ctx c = { .threads_fd = bpf_map__fd(skel->maps.threads) };
	struct proc_total *old;
	int ret;

	ret = map_walk(skel->maps.hists, sample_hist, &c);
	if (!ret)
		ret = map_walk(skel->maps.tstates, sample_state, &c);
	if (!ret)
		ret = lf_for_each_hist(lf, sample_lf_hist, &c.now);
	if (ret)
		goto out;
	for (size_t i = 0; i < c.now.n; i++) {
		struct rec_sample d = {}, *s;
		bool active = false;

		old = proc_total(&sm->totals, c.now.p[i].pid);
		if (!old) {
			ret = -ENOMEM;
			goto out;
		}
		for (int k = 0; k < NR_CLASSES; k++)
			active |= (d.waits[k] = advance(&old->waits[k], c.now.p[i].waits[k])) != 0;
		active |= (d.ioctls = advance(&old->ioctls, c.now.p[i].ioctls)) != 0;
		if (!active && !old->active)
			continue;	/* quiet, and its track already reads zero */
		/*
		 * Each value holds from the previous sample of its process: one
		 * waking up after a quiet spell first gets a zero at the previous
		 * tick, so that its count is drawn over this interval only.
		 */
		if (active && !old->active && sm->prev_ts && old->sampled_ts < sm->prev_ts)
			add_sample(rec, sm->prev_ts, old->pid);
		s = add_sample(rec, ts_ns, old->pid);
		if (s) {
			memcpy(s->waits, d.waits, sizeof(s->waits));
			s->ioctls = d.ioctls;
		}
		old->active = active;
		old->sampled_ts = ts_ns;
	}
out:
	sm->prev_ts = ts_ns;
	free(c.now.p);
	return ret;
}

void sampler_free(struct sampler *sm)
{
	free(sm->totals.p);
	memset(sm, 0, sizeof(*sm));
}
