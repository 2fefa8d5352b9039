// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ground-truth JSON report (written atomically) and the stderr summary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "gcsim.h"

const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_GC: return "gc";
	case ROLE_UI: return "ui";
	case ROLE_MUTATOR: return "mutator";
	default: return "handler";
	}
}

const char *ioc_name(enum uffd_ioc i)
{
	static const char *const names[IOC_NR] = {
		"UFFDIO_MOVE", "UFFDIO_COPY", "UFFDIO_ZEROPAGE", "UFFDIO_WAKE",
	};
	return names[i];
}

/* The mode's mapping ioctl is always listed for mapping roles. */
static bool ioc_listed(const struct worker *w, enum uffd_ioc i)
{
	if (w->ioc[i].count)
		return true;
	if (w->role == ROLE_HANDLER || w->role == ROLE_MUTATOR)
		return false;
	return i == (space.mode == IOCTL_MOVE ? IOC_MOVE : IOC_COPY);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_ioctl(FILE *f, const struct ioctl_stats *st)
{
	const struct latency_hist *h = &st->hist;

	fprintf(f, "{\"count\": %llu, \"errors\": %llu, \"eexist\": %llu, "
		"\"total_ns\": %llu, \"max_ns\": %llu, \"max_at_ns\": %llu, \"p50_ns\": %llu, "
		"\"p90_ns\": %llu, \"p99_ns\": %llu, \"slowest\": [",
		(unsigned long long)st->count, (unsigned long long)st->errors,
		(unsigned long long)st->eexist, (unsigned long long)st->total_ns,
		(unsigned long long)h->max, (unsigned long long)st->max_at_ns,
		(unsigned long long)hist_quantile(h, 0.50),
		(unsigned long long)hist_quantile(h, 0.90),
		(unsigned long long)hist_quantile(h, 0.99));
	for (unsigned int i = 0; i < st->nslowest; i++)
		fprintf(f, "%s[%llu, %llu]", i ? ", " : "",
			(unsigned long long)st->slowest[i].at_ns,
			(unsigned long long)st->slowest[i].dur_ns);
	fputs("]}", f);
}

static void json_worker(FILE *f, const struct worker *w)
{
	bool first = true;

	fprintf(f, "  {\"tid\": %d, \"name\": ", (int)w->tid);
	json_string(f, w->name);
	fprintf(f, ", \"role\": \"%s\",\n   \"ioctls\": {", role_name(w->role));
	for (int i = 0; i < IOC_NR; i++) {
		if (!ioc_listed(w, i))
			continue;
		fprintf(f, "%s\n    \"%s\": ", first ? "" : ",", ioc_name(i));
		json_ioctl(f, &w->ioc[i]);
		first = false;
	}
	fprintf(f, "},\n   \"faults\": %lu, \"fault_blocked_ns\": %llu, "
		"\"fault_max_ns\": %llu, \"pages_mapped\": %llu",
		atomic_load(&w->faults), (unsigned long long)w->fault_blocked_ns,
		(unsigned long long)w->fault_max_ns, (unsigned long long)w->pages_mapped);
	if (w->role == ROLE_HANDLER)
		fprintf(f, ", \"faults_handled\": %lu", atomic_load(&w->faults_handled));
	fprintf(f, "}");
}

static const struct worker *ui_worker(void)
{
	for (unsigned int i = 0; i < nworkers; i++)
		if (workers[i].role == ROLE_UI)
			return &workers[i];
	return NULL;
}

int write_json(const char *path, uint64_t duration_ns)
{
	const struct worker *ui = ui_worker();
	struct utsname uts;
	char *tmp;
	FILE *f;
	int ok;

	uname(&uts);
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -1;
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "gcsim: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fprintf(f, "{\n \"tool\": \"gcsim\", \"version\": 1, \"pid\": %d, \"kernel\": ",
		(int)getpid());
	json_string(f, uts.release);
	fprintf(f, ",\n \"ioctl_mode\": \"%s\", \"fallback\": %s, \"sigbus\": %s,\n",
		space.mode == IOCTL_MOVE ? "move" : "copy",
		space.fallback ? "true" : "false", space.sigbus ? "true" : "false");
	fprintf(f, " \"duration_ns\": %llu, \"pressure\": \"%s\", \"pressure_ops\": %lu,\n",
		(unsigned long long)duration_ns, pressure_name(opt.pressure),
		atomic_load(&pressure_ops));
	fprintf(f, " \"space_mb\": %lu, \"batch_pages\": %u, \"seed\": %llu, "
		"\"cycles\": %lu, \"pages_mapped\": %llu,\n",
		opt.space_mb, opt.batch_pages, opt.seed, atomic_load(&space.cycles_done),
		(unsigned long long)atomic_load(&space.total_mapped));
	fprintf(f, " \"threads\": [\n");
	for (unsigned int i = 0; i < nworkers; i++) {
		json_worker(f, &workers[i]);
		fprintf(f, "%s\n", i + 1 < nworkers ? "," : "");
	}
	fprintf(f, " ],\n \"ui\": ");
	if (ui)
		fprintf(f, "{\"frames\": %llu, \"janky\": %llu, \"stalled_30ms\": %llu, "
			"\"worst_frame_ns\": %llu, \"budget_ns\": %llu, \"p99_frame_ns\": %llu}",
			(unsigned long long)ui->frames, (unsigned long long)ui->janky,
			(unsigned long long)ui->stalled_30ms,
			(unsigned long long)ui->worst_frame_ns,
			1000000000ull / opt.frame_hz,
			(unsigned long long)hist_quantile(&ui->frame_hist, 0.99));
	else
		fprintf(f, "null");
	fprintf(f, "\n}\n");
	ok = !ferror(f);
	ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, path)) {
		fprintf(stderr, "gcsim: writing %s: %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

void print_summary(uint64_t duration_ns)
{
	const struct worker *ui = ui_worker();
	double secs = (double)duration_ns / 1e9;

	fprintf(stderr, "gcsim: %.2f s, %s%s, sigbus %s, %lu cycles, %llu pages mapped, "
		"pressure %s\n", secs, space.mode == IOCTL_MOVE ? "UFFDIO_MOVE" : "UFFDIO_COPY",
		space.fallback ? " (fallback)" : "", space.sigbus ? "on" : "off",
		atomic_load(&space.cycles_done),
		(unsigned long long)atomic_load(&space.total_mapped),
		pressure_name(opt.pressure));
	fprintf(stderr, "  %-15s %7s %9s %9s %8s %8s %9s %6s %5s %6s\n", "thread", "tid",
		"ioctls", "pages/s", "p50_us", "p99_us", "max_us", "eexist", "err", "faults");
	for (unsigned int i = 0; i < nworkers; i++) {
		const struct worker *w = &workers[i];
		const struct ioctl_stats *st = &w->ioc[space.mode == IOCTL_MOVE ? IOC_MOVE : IOC_COPY];
		uint64_t n = 0, err = 0, eex = 0;

		for (int k = 0; k < IOC_NR; k++) {
			n += w->ioc[k].count;
			err += w->ioc[k].errors;
			eex += w->ioc[k].eexist;
		}
		fprintf(stderr, "  %-15s %7d %9llu %9.0f %8.1f %8.1f %9.1f %6llu %5llu %6lu\n",
			w->name, (int)w->tid, (unsigned long long)n,
			secs > 0 ? (double)w->pages_mapped / secs : 0.0,
			hist_quantile(&st->hist, 0.5) / 1e3, hist_quantile(&st->hist, 0.99) / 1e3,
			st->hist.max / 1e3, (unsigned long long)eex, (unsigned long long)err,
			atomic_load(&w->faults));
	}
	if (ui)
		fprintf(stderr, "  ui: %llu frames, %llu janky (> %.1f ms), %llu >= 30 ms, "
			"worst %.1f ms, p99 %.1f ms\n",
			(unsigned long long)ui->frames, (unsigned long long)ui->janky,
			1000.0 / opt.frame_hz, (unsigned long long)ui->stalled_30ms,
			ui->worst_frame_ns / 1e6, hist_quantile(&ui->frame_hist, 0.99) / 1e6);
}
