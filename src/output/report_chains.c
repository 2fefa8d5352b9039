// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report's "who blocked whom": the worst stalls, each with its chain
 * (model/chain.c) on a few lines, one per hop.
 */
#include <stdlib.h>
#include <string.h>
#include "output/report.h"
#include "lib/util.h"

static int cmp_worst(const void *a, const void *b, const void *ctx)
{
	const struct recording *rec = ctx;
	const struct rec_event *x = &rec->events[(*(const struct rec_chain *const *)a)->event];
	const struct rec_event *y = &rec->events[(*(const struct rec_chain *const *)b)->event];

	return (x->dur_ns < y->dur_ns) - (x->dur_ns > y->dur_ns);
}

/* "anon_vma write lock wait" / "folio D-state" / "UFFDIO_MOVE". */
static const char *what(const struct rec_event *e, char *buf, size_t len)
{
	if (e->kind == KIND_IOCTL)
		snprintf(buf, len, "%s", uffd_cmd_name(e->cls));
	else
		snprintf(buf, len, "%s %s", class_label(e->cls),
			 e->kind == KIND_LOCK ? "lock wait" : "D-state");
	return buf;
}

static const char *thread_name(const struct recording *rec, __u32 tid)
{
	const struct rec_thread *t = recording_find_thread(rec, tid);

	return t ? t->comm : "?";
}

/* What the blocker did in the hop's window: its parts, largest first, and its samples. */
static void print_doing(FILE *f, const struct rec_hop *h)
{
	const char *rest = h->source == HOP_PARTS_IOCTL ? "outside uffd ioctls" :
			   "no wait of its own seen (running, runnable, or waits < --min-slice)";
	int n = 0;

	if (h->source == HOP_PARTS_NONE) {
		fputs(" not followed by mmlock: what it did is not known", f);
	} else {
		fputs(h->source == HOP_PARTS_IOCTL ? " in its uffd ioctls:" : " its own waits:", f);
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < NR_REC_PARTS; i++) {
				__u64 v = h->parts[i];

				/* Largest first is enough by halves: big parts, then the small ones. */
				if (!v || (pass == 0) != (v * 4 >= h->window_ns))
					continue;
				fprintf(f, "%s %s %s", n++ ? "," : "",
					i == PART_UNEXPLAINED ? rest : part_label(i), NS(v));
			}
	}
	if (h->samples)
		fprintf(f, "; on CPU in %s (%u of %u sample%s)", h->on_cpu_in, h->on_cpu_samples,
			h->samples, h->samples == 1 ? "" : "s");
	if (h->released_by)
		fprintf(f, "; released last by %s [%u]", h->released_comm[0] ? h->released_comm : "?",
			h->released_by);
	fputc('\n', f);
}

static void print_chain(FILE *f, const struct recording *rec, const struct rec_chain *c)
{
	const struct rec_event *e = &rec->events[c->event];
	char b[64];

	fprintf(f, "  %s [%u] %s %s · %s at +%s\n", thread_name(rec, e->tid), e->tid, NS(e->dur_ns),
		what(e, b, sizeof(b)), site_name(e->site), NS(e->ts_ns - rec->start_ns));
	for (int i = 0; i < c->nhops; i++) {
		const struct rec_hop *h = &c->hops[i];
		const struct rec_event *w = &rec->events[h->waiter];

		fprintf(f, "    %*s<- %s [%u]", 2 * i, "", h->comm[0] ? h->comm : "?", h->tid);
		if (h->waiter != c->event)
			fprintf(f, " (for %s's %s %s, %s of it in the window)",
				i ? c->hops[i - 1].comm : thread_name(rec, w->tid),
				NS(w->dur_ns), what(w, b, sizeof(b)), NS(h->overlap_ns));
		fprintf(f, " %s%s:", hop_why_name(h->why),
			h->why == HOP_PREEMPTOR ? ", its longest preemption" : "");
		if (h->why == HOP_PREEMPTOR) {
			fprintf(f, " %s\n", NS(h->overlap_ns));
			continue;
		}
		print_doing(f, h);
	}
}

void report_chains(FILE *f, const struct recording *rec, size_t worst)
{
	const struct rec_chain **v;
	size_t n = rec->nchains;

	if (!n)
		return;
	v = malloc(n * sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = &rec->chains[i];
	sort_array_ctx(v, n, sizeof(*v), cmp_worst, rec);
	fprintf(f, "\nWho blocked the worst stalls (%zu of %zu stalls >= %s; owner: the lock's owner as "
		"the wait began, waker: woke its last sleep; docs/chains.md):\n",
		n < worst ? n : worst, n, NS(rec->chain_min_ns));
	for (size_t i = 0; i < n && i < worst; i++)
		print_chain(f, rec, v[i]);
	if (rec->chains_not_built)
		fprintf(f, "  (%llu more stalls got no chain: at most %d are built)\n",
			(unsigned long long)rec->chains_not_built, CHAIN_MAX);
	free(v);
}
