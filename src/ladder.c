// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "ladder.h"
#include "mmlock.skel.h"
#include "util.h"

/* The one table: probe -> candidate programs (program names in bpf/), best first. */
static const struct ladder_probe probe_table[] = {
	{ "contention_begin", { "contention_begin_btf", "contention_begin_raw" } },
	{ "contention_end", { "contention_end_btf", "contention_end_raw" } },
	{ "sched_switch", { "sched_switch_btf", "sched_switch_raw" } },
	{ "sched_wakeup", { "sched_wakeup_btf", "sched_wakeup_raw" } },
	{ "uffd_ioctl_enter", { "uffd_ioctl_enter_btf", "uffd_ioctl_enter" } },
	{ "uffd_ioctl_exit", { "uffd_ioctl_exit_btf", "uffd_ioctl_exit" } },
};
#define NR_PROBES (sizeof(probe_table) / sizeof(probe_table[0]))

/* Why a program was refused, indexed like the skeleton's programs. */
#define MAX_PROGS 64
static char refusal[MAX_PROGS][96];

static const char *mech_name(const struct bpf_program *p)
{
	switch (bpf_program__type(p)) {
	case BPF_PROG_TYPE_TRACING:
		switch (bpf_program__expected_attach_type(p)) {
		case BPF_TRACE_FENTRY: return "fentry";
		case BPF_TRACE_FEXIT: return "fexit";
		default: return "tp_btf";
		}
	case BPF_PROG_TYPE_RAW_TRACEPOINT: return "raw_tp";
	case BPF_PROG_TYPE_TRACEPOINT: return "tracepoint";
	case BPF_PROG_TYPE_KPROBE: return "kprobe";
	default: return "other";
	}
}

static int mech_family(const struct bpf_program *p)
{
	const char *m = mech_name(p);

	if (!strcmp(m, "fentry") || !strcmp(m, "fexit"))
		return FAMILY_FENTRY;
	if (!strcmp(m, "kprobe"))
		return FAMILY_KPROBE;
	return FAMILY_TRACEPOINT;
}

int parse_family(const char *s)
{
	static const char *const names[] = { "auto", "fentry", "kprobe", "tracepoint" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* libbpf's messages: the last "prog 'NAME': ..." warning names the culprit. */
static char last_prog[64], last_warn[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	const char *p;
	va_list ap2;

	va_copy(ap2, ap);
	vsnprintf(buf, sizeof(buf), fmt, ap2);
	va_end(ap2);
	if (level == LIBBPF_WARN) {
		if ((p = strstr(buf, "prog '"))) {
			const char *q = strchr(p + 6, '\'');

			if (q && q - p - 6 < (long)sizeof(last_prog)) {
				memcpy(last_prog, p + 6, q - p - 6);
				last_prog[q - p - 6] = 0;
			}
		}
		snprintf(last_warn, sizeof(last_warn), "%.255s", buf);
		last_warn[strcspn(last_warn, "\n")] = 0;
	}
	if (verbose > 1 || (verbose && level == LIBBPF_WARN))
		vfprintf(stderr, fmt, ap);	/* whole: verifier logs are long */
	return 0;
}

static int prog_index(struct mmlock_bpf *skel, const struct bpf_program *want)
{
	struct bpf_program *p;
	int i = 0;

	bpf_object__for_each_program(p, skel->obj) {
		if (p == want)
			return i;
		i++;
	}
	return -1;
}

int ladder_load(struct ladder *l, int family, const char *btf_path,
		ladder_configure_fn configure, void *arg, char *err, size_t errlen)
{
	bool disabled[MAX_PROGS] = {};
	struct bpf_program *p;
	int i, ret;

	memset(l, 0, sizeof(*l));
	memset(refusal, 0, sizeof(refusal));
	libbpf_set_print(libbpf_print);
	for (;;) {
		LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path);

		l->skel = mmlock_bpf__open_opts(&opts);
		if (!l->skel) {
			ret = -errno;
			snprintf(err, errlen, "cannot open BPF object: %s", last_warn[0] ? last_warn : strerror(-ret));
			return ret;
		}
		i = 0;
		bpf_object__for_each_program(p, l->skel->obj) {
			bool off = i >= MAX_PROGS || disabled[i] ||
				   (family != FAMILY_ANY && mech_family(p) != family);

			if (off && i < MAX_PROGS && !refusal[i][0] && !disabled[i])
				snprintf(refusal[i], sizeof(refusal[i]), "%s: not allowed by --mode", mech_name(p));
			bpf_program__set_autoload(p, !off);
			i++;
		}
		ret = configure(l->skel, arg);
		if (ret) {
			snprintf(err, errlen, "cannot configure BPF object: %s", strerror(-ret));
			ladder_destroy(l);
			return ret;
		}
		last_prog[0] = last_warn[0] = 0;
		ret = mmlock_bpf__load(l->skel);
		if (!ret)
			break;
		/* Which program did the kernel refuse? Disable it (and its mechanism) and retry. */
		p = last_prog[0] ? bpf_object__find_program_by_name(l->skel->obj, last_prog) : NULL;
		i = p ? prog_index(l->skel, p) : -1;
		if (i < 0 || i >= MAX_PROGS || disabled[i] || ++l->reloads > MAX_PROGS) {
			snprintf(err, errlen, "cannot load BPF programs: %s (%s)",
				 strerror(-ret), last_warn[0] ? last_warn : "no detail from libbpf");
			ladder_destroy(l);
			return ret;
		}
		vnote("%s (%s) refused at load: %s; falling back", last_prog, mech_name(p), strerror(-ret));
		{
			const char *mech = mech_name(p);
			int fam = mech_family(p), j = 0;
			struct bpf_program *q;

			/* fentry/kprobe refusals are the mechanism's, not the function's. */
			bpf_object__for_each_program(q, l->skel->obj) {
				bool same = q == p || (fam != FAMILY_TRACEPOINT && mech_family(q) == fam);

				if (j < MAX_PROGS && same && !disabled[j]) {
					disabled[j] = true;
					snprintf(refusal[j], sizeof(refusal[j]), "%s: load %s%s", mech,
						 strerror(-ret), q == p ? "" : " (same mechanism)");
				}
				j++;
			}
		}
		mmlock_bpf__destroy(l->skel);
		l->skel = NULL;
	}
	return 0;
}

int ladder_attach(struct ladder *l, char *err, size_t errlen)
{
	size_t attached = 0;

	l->nprobes = NR_PROBES;
	l->links = calloc(NR_PROBES, sizeof(*l->links));
	l->result = calloc(NR_PROBES, sizeof(*l->result));
	if (!l->links || !l->result) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < NR_PROBES; i++) {
		const struct ladder_probe *pr = &probe_table[i];
		struct rec_probe *res = &l->result[i];
		size_t rl = 0;

		snprintf(res->name, sizeof(res->name), "%s", pr->name);
		snprintf(res->mechanism, sizeof(res->mechanism), "none");
		for (int c = 0; c < LADDER_MAX_CANDS && pr->cands[c]; c++) {
			struct bpf_program *p = bpf_object__find_program_by_name(l->skel->obj, pr->cands[c]);
			int idx = p ? prog_index(l->skel, p) : -1;
			const char *why = NULL;
			char buf[96];

			if (!p)
				continue;
			if (!bpf_program__autoload(p) || bpf_program__fd(p) < 0) {
				why = idx >= 0 && idx < MAX_PROGS && refusal[idx][0] ? refusal[idx] : "not loaded";
			} else {
				l->links[i] = bpf_program__attach(p);
				if (l->links[i]) {
					snprintf(res->mechanism, sizeof(res->mechanism), "%s", mech_name(p));
					vnote("probe %s: %s (%s)", pr->name, mech_name(p), pr->cands[c]);
					attached++;
					break;
				}
				snprintf(buf, sizeof(buf), "%s: attach %s", mech_name(p), strerror(errno));
				why = buf;
				vnote("probe %s: %s refused at attach: %s; falling back", pr->name,
				      mech_name(p), strerror(errno));
			}
			if (rl < sizeof(res->refused))
				rl += snprintf(res->refused + rl, sizeof(res->refused) - rl, "%s%s",
					       rl ? "; " : "", why);
		}
	}
	if (!attached) {
		snprintf(err, errlen, "no probe could be attached (%s)",
			 l->result[0].refused[0] ? l->result[0].refused : "see --verbose");
		return -ENOENT;
	}
	return 0;
}

void ladder_destroy(struct ladder *l)
{
	for (size_t i = 0; l->links && i < l->nprobes; i++)
		bpf_link__destroy(l->links[i]);
	free(l->links);
	l->links = NULL;
	mmlock_bpf__destroy(l->skel);
	l->skel = NULL;
	free(l->result);
	l->result = NULL;
	l->nprobes = 0;
}
