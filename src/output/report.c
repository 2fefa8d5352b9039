// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "output/report.h"
#include "lib/util.h"


static const char *hist_class(const struct rec_hist *h)
{
	if (h->kind == KIND_IOCTL)
		return uffd_cmd_name(h->cls);
	return class_label(h->cls) ?: "?";
}

static void hist_row(FILE *f, const struct rec_hist *h)
{
	fprintf(f, "    %-20s %-11s %8llu %10s %10s %10s %10s %10s",
		hist_class(h), site_name(h->site) ?: "?", (unsigned long long)h->count,
		NS(h->total_ns), NS(h->max_ns), NS(hist_percentile(h, 50)),
		NS(hist_percentile(h, 90)), NS(hist_percentile(h, 99)));
	if (h->kind == KIND_DSTATE && h->aux_ns)
		fprintf(f, "  +%s runnable", NS(h->aux_ns));
	if (h->kind == KIND_IOCTL && h->aux_ns)
		fprintf(f, "  %llu errors", (unsigned long long)h->aux_ns);
	if (h->kind == KIND_TRYLOCK)
		fprintf(f, "  %llu failed (%.0f%%)", (unsigned long long)h->aux_ns,
			h->count ? 100.0 * h->aux_ns / h->count : 0.0);
	fputc('\n', f);
}

void report_hist(FILE *f, const struct rec_hist *h, const char *indent)
{
	__u64 rows[HIST_MAX_POW + 1] = {}, peak = 0;
	int first = -1, last = -1;

	/* Terminal rows merge the 4 sub-buckets of a power of two. */
	for (unsigned int i = 0; i < HIST_SLOTS; i++) {
		unsigned int row = i < HIST_SUB ? (i >= 2) : i / HIST_SUB + 1;

		rows[row] += h->slots[i];
	}
	for (int r = 0; r <= HIST_MAX_POW; r++) {
		if (!rows[r])
			continue;
		if (first < 0)
			first = r;
		last = r;
		if (rows[r] > peak)
			peak = rows[r];
	}
	for (int r = first; r >= 0 && r <= last; r++) {
		char lo[24], hi[24], bar[41];
		int w = peak ? (int)(rows[r] * 40 / peak) : 0;

		memset(bar, '#', w);
		bar[w] = 0;
		fmt_ns(r ? 1ULL << r : 0, lo, sizeof(lo));
		fmt_ns(1ULL << (r + 1), hi, sizeof(hi));
		fprintf(f, "%s%10s .. %-10s |%-40s| %llu\n", indent, lo, hi, bar,
			(unsigned long long)rows[r]);
	}
}

static void print_stack(FILE *f, const struct rec_stack *s, const char *title)
{
	fprintf(f, "    %s: %s · %s, %llu× total %s max %s\n", title,
		class_label(s->cls) ?: "?", site_name(s->site) ?: "?",
		(unsigned long long)s->count, NS(s->total_ns), NS(s->max_ns));
	for (int i = 0; i < s->nframes; i++)
		fprintf(f, "        %s\n", s->frames[i]);
}

static const struct rec_hist *worst_hist(const struct rec_thread *t, int kind)
{
	const struct rec_hist *w = NULL;

	for (size_t i = 0; i < t->nhists; i++)
		if (t->hists[i].kind == kind && (!w || t->hists[i].max_ns > w->max_ns))
			w = &t->hists[i];
	return w;	/* NULL if the thread has none of this kind */
}

/* Worst uffd ioctl of a thread among the recorded events, NULL if none. */
static const struct rec_event *worst_ioctl(const struct recording *rec, __u32 tid)
{
	const struct rec_event *w = NULL;

	for (size_t i = 0; i < rec->nevents; i++) {
		const struct rec_event *e = &rec->events[i];

		if (e->kind == KIND_IOCTL && e->tid == tid && (!w || e->dur_ns > w->dur_ns))
			w = e;
	}
	return w;
}

/* Part indexes of parts[] with time, largest first; unexplained always, last. */
static int parts_order(const __u64 *parts, int *idx)
{
	int n = 0;

	for (int i = 0; i < NR_PARTS; i++)
		if (parts[i])
			idx[n++] = i;
	for (int i = 1; i < n; i++)	/* insertion sort: at most NR_PARTS */
		for (int j = i; j > 0 && parts[idx[j]] > parts[idx[j - 1]]; j--) {
			int x = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = x;
		}
	idx[n++] = PART_UNEXPLAINED;
	return n;
}

#define ONCPU_SHOWN 5

/* "on CPU in:" the top functions of some samples and their share (oncpu.c: leaf, via). */
static void print_oncpu(FILE *f, const char *indent, const struct rec_oncpu *o)
{
	if (!o || !o->samples)
		return;
	fprintf(f, "%son CPU in:", indent);
	for (size_t i = 0; i < o->nfuncs && i < ONCPU_SHOWN; i++) {
		const struct rec_func *fn = &o->funcs[i];

		fprintf(f, "%s %s", i ? "," : "", fn->func);
		if (fn->via[0])
			fprintf(f, " (via %s)", fn->via);
		fprintf(f, " %.1f%%", 100.0 * fn->samples / o->samples);
	}
	if (o->nfuncs > ONCPU_SHOWN)
		fprintf(f, ", %zu more", o->nfuncs - ONCPU_SHOWN);
	fprintf(f, " (%llu sample%s)\n", (unsigned long long)o->samples, o->samples == 1 ? "" : "s");
}

static void print_worst_ioctl(FILE *f, const struct rec_event *e, const struct recording *rec)
{
	int idx[NR_REC_PARTS], n = parts_order(e->parts, idx);

	fprintf(f, "  worst ioctl: %s %s at +%s:", uffd_cmd_name(e->cls),
		NS(e->dur_ns), NS(e->ts_ns - rec->start_ns));
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s %s %s", i ? "," : "", part_label(idx[i]), NS(e->parts[idx[i]]));
		if (idx[i] == PART_PREEMPTED && e->other_tid)
			fprintf(f, " (longest %s by %s %u)", NS(e->by_ns),
				e->by_comm[0] ? e->by_comm : "tid", e->other_tid);
	}
	fputc('\n', f);
	if (oncpu_find(rec, e->tid, e->cls, e->ts_ns))
		print_oncpu(f, "    ", oncpu_find(rec, e->tid, e->cls, e->ts_ns));
	else if (rec->sampler.attached && rec->sampler.hz)	/* say why the line is missing */
		fprintf(f, "    on CPU in: no sample (one every %s of CPU time)\n",
			NS(1000000000ULL / rec->sampler.hz));
}

/* The ioctl's own start and end: "uffd_ioctl_enter=kprobe uffd_ioctl_exit=kprobe". */
static const char *ioctl_source(const struct recording *rec, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < rec->nprobes && n < len; i++)
		if (!strncmp(rec->probes[i].name, "uffd_ioctl_", 11))
			n += snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "", rec->probes[i].name,
				      rec->probes[i].mechanism);
	if (!buf[0])
		snprintf(buf, len, "the ioctl's entry and exit");
	return buf;
}

/*
 * Per command: where the thread's ioctl time went, each part in ms, % of the
 * total, and the probes whose cuts made it, with their mechanisms.
 */
static void print_breakdown(FILE *f, const struct recording *rec, const struct rec_thread *t)
{
	char src[160];
	const char *why;

	for (size_t i = 0; i < t->nhists; i++) {
		const struct rec_hist *h = &t->hists[i];
		int idx[NR_REC_PARTS], n;

		if (h->kind != KIND_IOCTL || !h->total_ns)
			continue;
		n = parts_order(h->parts, idx);
		fprintf(f, "  where the time went: %s, %llu ioctls, %s (each cut at %s)\n",
			uffd_cmd_name(h->cls), (unsigned long long)h->count, NS(h->total_ns),
			ioctl_source(rec, src, sizeof(src)));
		for (int j = 0; j < n; j++)
			fprintf(f, "    %-32s %10.3f ms %6.1f%%  %s\n", part_label(idx[j]),
				h->parts[idx[j]] / 1e6, 100.0 * h->parts[idx[j]] / h->total_ns,
				part_source(rec, idx[j], src, sizeof(src)));
		/* A part its probe could not measure is absent, not zero: its time is in on CPU. */
		for (unsigned int p = 0; p < NR_REC_PARTS; p++)
			if (!part_measured(rec, p, &why))
				fprintf(f, "    not measured: %s (%s, left in on CPU: %s)\n", part_name(p),
					part_label(p), why);
		print_oncpu(f, "    ", oncpu_find(rec, t->tid, h->cls, 0));
	}
}

#define TOP_PREEMPTORS 5

struct preemptor {
	__u32 tid;
	const char *comm;
	__u64 ns, n;
};

static int cmp_preemptor(const void *a, const void *b)
{
	const struct preemptor *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : (x->tid > y->tid) - (x->tid < y->tid);
}

/*
 * Who ran instead, over the thread's kept ioctls (events): the task switched
 * in at each one's longest preemption, summed by tid. Shorter preemptions and
 * ioctls below --min-slice are not in it.
 */
static void print_preemptors(FILE *f, const struct recording *rec, const struct rec_thread *t)
{
	struct preemptor *p = NULL;
	size_t n = 0, cap = 0;
	__u64 all = 0;

	for (size_t i = 0; i < rec->nevents; i++) {
		const struct rec_event *e = &rec->events[i];
		size_t j;

		if (e->kind != KIND_IOCTL || e->tid != t->tid || !e->other_tid || !e->by_ns)
			continue;
		for (j = 0; j < n && p[j].tid != e->other_tid; j++)
			;
		if (j == n) {
			if (grow_array((void **)&p, &cap, n + 1, sizeof(*p)))
				break;	/* out of memory: the line shows what was summed */
			p[n++] = (struct preemptor){ .tid = e->other_tid, .comm = e->by_comm };
		}
		p[j].ns += e->by_ns;
		p[j].n++;
		all += e->by_ns;
	}
	if (n) {
		qsort(p, n, sizeof(*p), cmp_preemptor);
		fprintf(f, "  preempted by (longest preemption of each kept ioctl, %s in all):", NS(all));
		for (size_t j = 0; j < n && j < TOP_PREEMPTORS; j++)
			fprintf(f, "%s %s %u %s (%llu×)", j ? "," : "", p[j].comm[0] ? p[j].comm : "?",
				p[j].tid, NS(p[j].ns), (unsigned long long)p[j].n);
		if (n > TOP_PREEMPTORS)
			fprintf(f, ", %zu more", n - TOP_PREEMPTORS);
		fputc('\n', f);
	}
	free(p);
}

static void print_thread(FILE *f, const struct recording *rec, const struct rec_thread *t,
			 const struct report_opts *ro)
{
	const struct rec_event *wi = worst_ioctl(rec, t->tid);
	const struct rec_hist *w = worst_hist(t, KIND_LOCK);
	__u64 dtotal = 0;

	for (size_t i = 0; i < t->nhists; i++)
		if (t->hists[i].kind == KIND_DSTATE)
			dtotal += t->hists[i].total_ns;
	fprintf(f, "\n%s (tid %u, %s %u)%s  worst wait %s  D-state %s\n", t->comm, t->tid,
		t->pcomm[0] ? t->pcomm : "pid", t->pid, t->exited ? " [exited]" : "",
		NS(thread_worst_ns(t)), NS(dtotal));
	for (int k = 0; k < NR_KINDS; k++) {
		bool head = false;

		for (size_t i = 0; i < t->nhists; i++) {
			if (t->hists[i].kind != k)
				continue;
			if (!head) {
				fprintf(f, "  %s\n    %-20s %-11s %8s %10s %10s %10s %10s %10s\n",
					kind_title(k), k == KIND_IOCTL ? "COMMAND" : "CLASS", "SITE",
					"COUNT", "TOTAL", "MAX", "P50", "P90", "P99");
				head = true;
			}
			hist_row(f, &t->hists[i]);
			if (ro->all_hists)
				report_hist(f, &t->hists[i], "      ");
		}
	}
	print_breakdown(f, rec, t);
	print_preemptors(f, rec, t);
	if (wi)
		print_worst_ioctl(f, wi, rec);
	if (w && !ro->all_hists) {
		fprintf(f, "  histogram: %s · %s\n", class_label(w->cls), site_name(w->site));
		report_hist(f, w, "    ");
	}
	for (size_t i = 0; i < t->nstacks; i++) {
		const struct rec_stack *s = &t->stacks[i];
		bool unclassified = s->cls == CLASS_OTHER || s->site == SITE_OTHER;

		if (ro->stacks || (s->kind == KIND_DSTATE && i == 0) || (unclassified && i == 0))
			print_stack(f, s, s->kind == KIND_DSTATE ? "D-state stack" : "lock-wait stack");
	}
}

/* What is missing from a recording whose pair of probes got no mechanism (the ladder's rules: names.c). */
static void print_unmeasured(FILE *f, const struct recording *rec)
{
	for (size_t k = 0; k < nr_probe_pairs; k++)
		for (size_t i = 0; probe_pairs[k].what && i < rec->nprobes; i++) {
			const struct rec_probe *p = &rec->probes[i];

			if (!strcmp(p->name, probe_pairs[k].end) && !strcmp(p->mechanism, "none"))
				fprintf(f, "not measured: %s (%s: %s)\n", probe_pairs[k].what, p->name,
					p->refused[0] ? p->refused : "not attached");
		}
}

/* The on-CPU sampler: its rate and what it lost; why not, if it was asked for and did not run. */
static void print_sampler(FILE *f, const struct rec_sampler *sm)
{
	if (!sm->hz)
		return;	/* off, or a recording from before the sampler */
	if (!sm->attached) {
		fprintf(f, "on-CPU samples: none (%s)\n", sm->why[0] ? sm->why : "not attached");
		return;
	}
	fprintf(f, "on-CPU samples: %u Hz on %u CPUs, %llu taken inside uffd ioctls, %llu filed",
		sm->hz, sm->cpus, (unsigned long long)sm->samples, (unsigned long long)sm->filed);
	if (sm->lost)
		fprintf(f, ", %llu lost (ring overrun)", (unsigned long long)sm->lost);
	if (sm->no_stack)
		fprintf(f, ", %llu without a stack", (unsigned long long)sm->no_stack);
	if (sm->not_kept)
		fprintf(f, ", %llu not kept in the JSON", (unsigned long long)sm->not_kept);
	fputc('\n', f);
}

/* What was recorded, how, and what was lost or not measured. */
static void print_header(FILE *f, const struct recording *rec)
{
	bool drops = false;

	fprintf(f, "mmlock %s: %s on Linux %s (%s)", rec->tool_version,
		NS(rec->end_ns - rec->start_ns), rec->kernel, rec->arch);
	if (rec->filter_pid)
		fprintf(f, ", pid %u", rec->filter_pid);
	if (rec->filter_tid)
		fprintf(f, ", tid %u", rec->filter_tid);
	if (rec->filter_comm[0])
		fprintf(f, ", comm %s", rec->filter_comm);
	if (!rec->filter_pid && !rec->filter_tid && !rec->filter_comm[0])
		fprintf(f, ", system-wide");
	/* Whose it is (record --device/--label): one recording among a fleet's. */
	if (rec->device[0] || rec->id[0]) {
		fprintf(f, "\ndevice %s, recording %s", rec->device[0] ? rec->device : "?",
			rec->id[0] ? rec->id : "?");
		for (size_t i = 0; i < rec->nlabels; i++)
			fprintf(f, "%s%s=%s", i ? " " : ", labels ", rec->labels[i].key,
				rec->labels[i].value);
	}
	fputs("\nprobes:", f);
	for (size_t i = 0; i < rec->nprobes; i++)
		fprintf(f, " %s=%s", rec->probes[i].name, rec->probes[i].mechanism);
	fputs("\ndrops:", f);
	for (int i = 0; i < NR_COUNTERS; i++)
		if (rec->counters[i]) {
			fprintf(f, " %s=%llu", counter_name(i), (unsigned long long)rec->counters[i]);
			drops = true;
		}
	if (rec->events_dropped) {
		fprintf(f, " events_not_kept=%llu", (unsigned long long)rec->events_dropped);
		drops = true;
	}
	if (rec->samples_dropped) {
		fprintf(f, " samples_not_kept=%llu", (unsigned long long)rec->samples_dropped);
		drops = true;
	}
	fputs(drops ? "\n" : " none\n", f);
	for (int i = 0; i < NR_COUNTERS; i++)
		if (rec->counters[i])
			fprintf(f, "  %s: %s\n", counter_name(i), counter_meaning(i) ?: "?");
	if (rec->events_dropped)
		fputs("  events_not_kept: events beyond --max-events left out of the JSON; histograms complete\n", f);
	print_unmeasured(f, rec);
	print_sampler(f, &rec->sampler);
	if (rec->no_uffd_probes)
		fputs("low-tax mode (--uffd-probes none): no syscall hooks; kept: lock waits, D-state, "
		      "their uffd site from stacks (waits >= --stack-min); lost: uffd ioctl latency, "
		      "per-ioctl blame, waits inside an ioctl\n", f);
	if (rec->plain_locks)
		fputs("given up: stacks of spinlock and interrupt waits outside events (this kernel's BPF "
		      "locks are not resilient: such waits are recorded lock-free)\n", f);
}

/* The 15 worst threads, one line each. */
static void print_worst_threads(FILE *f, const struct recording *rec)
{
	size_t n = rec->nthreads;

	fprintf(f, "\n%-7s %-16s %-16s %10s  %s\n", "TID", "THREAD", "PROCESS", "WORST", "WORST WAIT");
	for (size_t i = 0; i < n && i < 15; i++) {
		const struct rec_thread *t = &rec->threads[i];
		const struct rec_hist *w = NULL;

		for (size_t j = 0; j < t->nhists; j++)
			if ((t->hists[j].kind == KIND_LOCK || t->hists[j].kind == KIND_DSTATE) &&
			    (!w || t->hists[j].max_ns > w->max_ns))
				w = &t->hists[j];
		fprintf(f, "%-7u %-16s %-16s %10s  ", t->tid, t->comm, t->pcomm,
			NS(thread_worst_ns(t)));
		if (w)
			fprintf(f, "%s · %s%s\n", class_label(w->cls), site_name(w->site),
				w->kind == KIND_DSTATE ? " (D-state)" : "");
		else
			fputs("-\n", f);
	}
	if (n > 15)
		fprintf(f, "... %zu more threads\n", n - 15);
}

void report_print(FILE *f, const struct recording *rec, const struct report_opts *ro)
{
	size_t n = rec->nthreads;

	print_header(f, rec);
	if (!n) {
		/* -c NAME given before NAME ran: say whether it ever did. */
		if (rec->filter_comm_seen < 0)
			fprintf(f, "\nno thread named '%s' ran during the recording\n", rec->filter_comm);
		else if (rec->filter_comm_seen > 0)
			fprintf(f, "\nthreads named '%s' ran, but none waited for a lock, slept in D-state "
				"or called a uffd ioctl\n", rec->filter_comm);
		else
			fputs("\nno waits, D-state periods or uffd ioctls were seen\n", f);
		return;
	}
	print_worst_threads(f, rec);
	report_chains(f, rec, ro->chains ?: REPORT_CHAINS_DEFAULT);
	if (ro->max_threads && n > ro->max_threads)
		n = ro->max_threads;
	for (size_t i = 0; i < n; i++)
		print_thread(f, rec, &rec->threads[i], ro);
}

void report_live(FILE *f, const struct recording *rec)
{
	fprintf(f, "--- %s: %zu threads ---\n", NS(rec->end_ns - rec->start_ns), rec->nthreads);
	for (size_t i = 0; i < rec->nthreads && i < 10; i++) {
		const struct rec_thread *t = &rec->threads[i];
		__u64 waits = 0, total = 0;

		for (size_t j = 0; j < t->nhists; j++)
			if (t->hists[j].kind == KIND_LOCK) {
				waits += t->hists[j].count;
				total += t->hists[j].total_ns;
			}
		fprintf(f, "%-7u %-16s worst %10s  lock waits %8llu total %10s\n", t->tid, t->comm,
			NS(thread_worst_ns(t)), (unsigned long long)waits, NS(total));
	}
}
