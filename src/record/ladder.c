// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "record/ladder.h"
#include "mmlock.skel.h"
#include "lib/util.h"

/* The one table: probe -> candidate programs (program names in bpf/), best first. */
static const struct ladder_probe probe_table[] = {
	/* The end of a begin/end pair first: see probe_pairs. */
	/* _sp: the execution context from the stack, where the preempt count cannot be read. */
	{ "contention_end", { { "contention_end_btf" }, { "contention_end_btf_sp" },
			      { "contention_end_raw" }, { "contention_end_raw_sp" } } },
	{ "contention_begin", { { "contention_begin_btf" }, { "contention_begin_btf_sp" },
				{ "contention_begin_raw" }, { "contention_begin_raw_sp" } } },
	{ "sched_switch", { { "sched_switch_btf" }, { "sched_switch_raw" } } },
	{ "sched_wakeup", { { "sched_wakeup_btf" }, { "sched_wakeup_raw" } } },
	{ "thread_exit", { { "thread_exit_btf" }, { "thread_exit_raw" } } },
	{ "thread_exec", { { "thread_exec_btf" }, { "thread_exec_raw" } } },
	/*
	 * kprobe before fentry: fentry programs run preemptible, and on a
	 * preemptible kernel (Android's) a thread preempted inside one makes the
	 * kernel skip every other thread's run of it on that CPU. Measured in a
	 * 6.12 guest with preempt=full (bench/vm_loss.sh): fentry lost 2-6% of
	 * the ioctls, kprobe and tp_btf none. Both kprobe and fentry tax only
	 * uffd ioctls; tp_btf (raw_syscalls) taxes every syscall.
	 */
	{ "uffd_ioctl_exit", { { "uffd_ioctl_kretprobe" }, { "uffd_ioctl_fexit" },
			       { "uffd_ioctl_exit_btf" }, { "uffd_ioctl_exit" } } },
	{ "uffd_ioctl_enter", { { "uffd_ioctl_kprobe" }, { "uffd_ioctl_fentry" },
				{ "uffd_ioctl_enter_btf" }, { "uffd_ioctl_enter" } } },
	/*
	 * Deeper probes: fentry/kprobe only (bpf/mmprobes.bpf.c). Still fentry
	 * first, unlike the ioctl: down_write and __folio_lock sleep, and a
	 * kretprobe holds one of its maxactive instances (10 on small
	 * machines) for every thread blocked inside, so a pile-up of waiters
	 * is what it would miss, the very case these probes are for. fentry's
	 * loss (a thread preempted inside the short program) is counted in
	 * bpf_prog_misses. Neither loss was measured for these: see #18.
	 */
	{ "anon_vma_up_write", { { "up_write_fentry" }, { "up_write_kprobe" } } },
	{ "anon_vma_trylock", { { "trylock_fexit" }, { "trylock_kprobe", "trylock_kretprobe" } } },
	{ "anon_vma_down_write", { { "down_write_fentry", "down_write_fexit" },
				   { "down_write_kprobe", "down_write_kretprobe" } } },
	{ "rmap_walk_anon", { { "rmap_fentry", "rmap_fexit" }, { "rmap_kprobe", "rmap_kretprobe" } } },
	{ "folio_lock", { { "folio_lock_fentry", "folio_lock_fexit" },
			  { "folio_lock_kprobe", "folio_lock_kretprobe" } } },
	/* The breakdown's rwsem_spin part (fentry first: the slow path sleeps, as above). */
	{ "rwsem_spin", { { "rwsem_spin_fentry", "rwsem_spin_fexit" },
			  { "rwsem_spin_kprobe", "rwsem_spin_kretprobe" } } },
};
#define NR_PROBES (sizeof(probe_table) / sizeof(probe_table[0]))

/* The pairing rules (probe_pairs) live with the other names in model/names.c. */

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
	case BPF_PROG_TYPE_PERF_EVENT: return "perf_event";
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
	if (!strcmp(m, "perf_event"))	/* the on-CPU sampler: no rung of the ladder, any --mode */
		return FAMILY_ANY;
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

/*
 * Our own verifier log buffer: without one, libbpf allocates 16 MiB for the
 * retry of a failed load (fentry here) and the loader's RSS peaks with it.
 * In .bss: its pages cost memory only once the kernel writes a log.
 */
static char verifier_log[1 << 20];

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

/*
 * Can this kernel attach kprobes at all? Its kprobe PMU (or tracefs'
 * kprobe_events, for the legacy path) exists only with CONFIG_KPROBES. Asked
 * once, so that a kernel without kprobes does not verify kprobe programs
 * that cannot attach.
 */
static bool kernel_has_kprobes(void)
{
	return !access("/sys/bus/event_source/devices/kprobe/type", R_OK) ||
	       !access("/sys/kernel/tracing/kprobe_events", F_OK) ||
	       !access("/sys/kernel/debug/tracing/kprobe_events", F_OK);
}

/*
 * Can the contention programs read the preempt count? On x86 it is a per-CPU
 * symbol whose address the verifier takes from kallsyms, which lists per-CPU
 * symbols only with CONFIG_KALLSYMS_ALL. arm64 reads it from thread_info.
 * Asked once, so that one of each pair of contention programs is verified.
 */
static bool kernel_has_preempt_count(void)
{
#if defined(__x86_64__)
	char line[256];
	bool yes = false;
	FILE *f = fopen("/proc/kallsyms", "re");

	while (f && !yes && fgets(line, sizeof(line), f)) {
		const char *name = strrchr(line, ' ');

		yes = name && (!strcmp(name, " __preempt_count\n") || !strcmp(name, " pcpu_hot\n"));
	}
	if (f)
		fclose(f);
	return yes;
#else
	return true;
#endif
}

/* A probe of the uffd ioctls (the syscall hooks among them): what --uffd-probes none leaves out. */
static bool uffd_probe(const char *probe)
{
	return !strncmp(probe, "uffd_ioctl_", 11);
}

/* Is program `prog` a candidate of a uffd ioctl probe (probe_table)? */
static bool uffd_prog(const char *prog)
{
	for (size_t i = 0; i < NR_PROBES; i++)
		for (int c = 0; uffd_probe(probe_table[i].name) && c < LADDER_MAX_CANDS; c++)
			for (int k = 0; k < LADDER_MAX_PROGS && probe_table[i].cands[c][k]; k++)
				if (!strcmp(probe_table[i].cands[c][k], prog))
					return true;
	return false;
}

/* A contention program of the pair this kernel does not need (see kernel_has_preempt_count). */
static bool other_context_variant(const struct bpf_program *p, bool preempt_count)
{
	const char *name = bpf_program__name(p);
	size_t n = strlen(name);
	bool sp = n > 3 && !strcmp(name + n - 3, "_sp");

	return !strncmp(name, "contention_", 11) && sp == preempt_count;
}

/*
 * Which programs this (re)load tries: not the disabled ones, only --mode's
 * family, no kprobes where the kernel has none, and one context variant.
 * Why a program stays off goes to refusal[].
 */
static void set_autoloads(struct mmlock_bpf *skel, int family, const bool *disabled,
			  bool kprobes, bool preempt_count, bool no_uffd)
{
	struct bpf_program *p;
	int i = 0;

	bpf_object__for_each_program(p, skel->obj) {
		bool off = i >= MAX_PROGS || disabled[i] ||
			   (family != FAMILY_ANY && mech_family(p) != FAMILY_ANY &&
			    mech_family(p) != family);

		if (!off && no_uffd && uffd_prog(bpf_program__name(p))) {
			off = true;
			if (i < MAX_PROGS)
				snprintf(refusal[i], sizeof(refusal[i]), "%s", LADDER_NO_UFFD_WHY);
		}

		if (!off && !kprobes && mech_family(p) == FAMILY_KPROBE) {
			off = true;
			if (i < MAX_PROGS)
				snprintf(refusal[i], sizeof(refusal[i]), "kprobe: not supported by this kernel");
		}
		if (!off && other_context_variant(p, preempt_count)) {
			off = true;
			if (i < MAX_PROGS)
				snprintf(refusal[i], sizeof(refusal[i]), "%s: %s", mech_name(p),
					 preempt_count ? "the preempt count is readable: not needed"
						       : "no per-CPU symbols in kallsyms (CONFIG_KALLSYMS_ALL): context from the stack");
		}
		if (off && i < MAX_PROGS && !refusal[i][0] && !disabled[i])
			snprintf(refusal[i], sizeof(refusal[i]), "%s: not allowed by --mode", mech_name(p));
		bpf_program__set_autoload(p, !off);
		i++;
	}
}

/*
 * The kernel refused program p at load with ret: disable it for the next
 * try. EPERM / ENOTSUPP / EOPNOTSUPP refuse the mechanism (fentry on a
 * kernel without trampolines), so its whole family goes; other errors only p.
 */
static void disable_refused(struct mmlock_bpf *skel, struct bpf_program *p, int ret,
			    bool *disabled)
{
	int fam = mech_family(p), j = 0;
	bool whole = fam != FAMILY_TRACEPOINT && fam != FAMILY_ANY &&
		     (ret == -EPERM || ret == -524 || ret == -EOPNOTSUPP);
	struct bpf_program *q;

	bpf_object__for_each_program(q, skel->obj) {
		bool same = q == p || (whole && mech_family(q) == fam);

		if (j < MAX_PROGS && same && !disabled[j]) {
			disabled[j] = true;
			snprintf(refusal[j], sizeof(refusal[j]), "%s: load %s%s", mech_name(q),
				 strerror(-ret), q == p ? "" : " (same mechanism)");
		}
		j++;
	}
}

int ladder_load(struct ladder *l, int family, bool no_uffd_probes, const char *btf_path,
		ladder_configure_fn configure, void *arg, char *err, size_t errlen)
{
	bool disabled[MAX_PROGS] = {}, kprobes = kernel_has_kprobes();
	bool preempt_count = kernel_has_preempt_count();
	struct bpf_program *p;
	int i, ret;

	memset(l, 0, sizeof(*l));
	l->no_uffd_probes = no_uffd_probes;
	memset(refusal, 0, sizeof(refusal));
	libbpf_set_print(libbpf_print);
	if (!kprobes)
		vnote("this kernel has no kprobe support: kprobe programs not loaded");
	for (;;) {
		LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path,
			    .kernel_log_buf = verifier_log, .kernel_log_size = sizeof(verifier_log));

		l->skel = mmlock_bpf__open_opts(&opts);
		if (!l->skel) {
			ret = -errno;
			snprintf(err, errlen, "cannot open BPF object: %s", last_warn[0] ? last_warn : strerror(-ret));
			return ret;
		}
		set_autoloads(l->skel, family, disabled, kprobes, preempt_count, no_uffd_probes);
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
		/* libbpf prints the verifier's log only from its own buffer: print ours. */
		if (verbose > 1 && verifier_log[0])
			fprintf(stderr, "-- verifier log of %s --\n%s\n-- end --\n", last_prog,
				verifier_log + (strlen(verifier_log) > 4096 ? strlen(verifier_log) - 4096 : 0));
		verifier_log[0] = 0;
		disable_refused(l->skel, p, ret, disabled);
		mmlock_bpf__destroy(l->skel);
		l->skel = NULL;
	}
	return 0;
}

/*
 * Test aid: MMLOCK_REFUSE_ATTACH="prog,prog..." makes the attach of those
 * programs fail as a kernel would, so the fallbacks can be tested on a
 * kernel where everything attaches.
 */
bool ladder_refused_by_env(const char *prog)
{
	const char *env = getenv("MMLOCK_REFUSE_ATTACH");
	size_t n = strlen(prog);

	for (const char *p = env; p && *p; p += strcspn(p, ","), p += *p == ',')
		if (!strncmp(p, prog, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* Attach every program of one candidate, or none of them. */
static int attach_cand(struct ladder *l, const char *const progs[], struct bpf_link **links,
		       const char **mech, char *why, size_t whylen)
{
	int n = 0;

	for (; n < LADDER_MAX_PROGS && progs[n]; n++) {
		struct bpf_program *p = bpf_object__find_program_by_name(l->skel->obj, progs[n]);
		int idx = p ? prog_index(l->skel, p) : -1;

		if (!p) {
			snprintf(why, whylen, "%s: no such program", progs[n]);
			goto undo;
		}
		if (!n)	/* a pair is named by its entry program: fentry, kprobe */
			*mech = mech_name(p);
		if (!bpf_program__autoload(p) || bpf_program__fd(p) < 0) {
			snprintf(why, whylen, "%s", idx >= 0 && idx < MAX_PROGS && refusal[idx][0] ?
				 refusal[idx] : "not loaded");
			goto undo;
		}
		if (ladder_refused_by_env(progs[n])) {
			snprintf(why, whylen, "%s: attach refused by MMLOCK_REFUSE_ATTACH", mech_name(p));
			goto undo;
		}
		links[n] = bpf_program__attach(p);
		if (!links[n]) {
			snprintf(why, whylen, "%s: attach %s", mech_name(p), strerror(errno));
			goto undo;
		}
	}
	return 0;
undo:
	while (n-- > 0) {
		bpf_link__destroy(links[n]);
		links[n] = NULL;
	}
	return -1;
}

static int probe_index(const struct ladder *l, const char *name)
{
	for (size_t i = 0; i < l->nprobes; i++)
		if (!strcmp(l->result[i].name, name))
			return i;
	return -1;
}

/* The end probe of the pair whose begin is `name` (already tried: see probe_pairs), or -1. */
static int pair_end(const struct ladder *l, const char *name)
{
	for (size_t k = 0; k < nr_probe_pairs; k++)
		if (!strcmp(probe_pairs[k].begin, name))
			return probe_index(l, probe_pairs[k].end);
	return -1;
}

static bool probe_none(const struct rec_probe *p)
{
	return !strcmp(p->mechanism, "none");
}

static void detach_probe(struct ladder *l, size_t i)
{
	for (int j = 0; j < LADDER_MAX_PROGS; j++) {
		bpf_link__destroy(l->links[i][j]);
		l->links[i][j] = NULL;
	}
}

/* Has every begin of end probe `e` been tried (up to probe `upto`), none attached? */
static bool end_orphaned(const struct ladder *l, int e, size_t upto)
{
	for (size_t k = 0; k < nr_probe_pairs; k++) {
		int b;

		if (strcmp(probe_pairs[k].end, l->result[e].name))
			continue;
		b = probe_index(l, probe_pairs[k].begin);
		if (b < 0 || (size_t)b > upto || !probe_none(&l->result[b]))
			return false;
	}
	return true;
}

/* The begins of its pair got nothing: the end (attached) alone is of no use. */
static void detach_lone_end(struct ladder *l, int e, const char *begin)
{
	struct rec_probe *end = &l->result[e];
	size_t used = strlen(end->refused);

	detach_probe(l, e);
	vnote("probe %s: %s detached: %s did not attach", end->name, end->mechanism, begin);
	snprintf(end->refused + used, sizeof(end->refused) - used,
		 "%s%s attached, then detached: %s did not attach", used ? "; " : "",
		 end->mechanism, begin);
	snprintf(end->mechanism, sizeof(end->mechanism), "none");
	end->prog_id = 0;
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
		int e = pair_end(l, pr->name);
		size_t rl = 0;

		snprintf(res->name, sizeof(res->name), "%s", pr->name);
		snprintf(res->mechanism, sizeof(res->mechanism), "none");
		if (l->no_uffd_probes && uffd_probe(pr->name)) {
			snprintf(res->refused, sizeof(res->refused), "%s", LADDER_NO_UFFD_WHY);
			vnote("probe %s: %s", pr->name, LADDER_NO_UFFD_WHY);
			continue;
		}
		if (e >= 0 && probe_none(&l->result[e])) {
			snprintf(res->refused, sizeof(res->refused), "not attached: %s did not attach",
				 l->result[e].name);
			vnote("probe %s: not attached: %s did not attach", pr->name, l->result[e].name);
			continue;
		}
		for (int c = 0; c < LADDER_MAX_CANDS && pr->cands[c][0]; c++) {
			const char *mech = "?";
			char why[128];

			if (!attach_cand(l, pr->cands[c], l->links[i], &mech, why, sizeof(why))) {
				struct bpf_program *p = bpf_object__find_program_by_name(l->skel->obj,
											 pr->cands[c][0]);
				struct bpf_prog_info info = {};
				__u32 len = sizeof(info);

				if (!bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
					res->prog_id = info.id;
				snprintf(res->mechanism, sizeof(res->mechanism), "%s", mech);
				vnote("probe %s: %s (%s)", pr->name, mech, pr->cands[c][0]);
				attached++;
				break;
			}
			vnote("probe %s: %s refused: %s", pr->name, pr->cands[c][0], why);
			/* The same reason for every candidate of a refused mechanism says it once. */
			if (rl < sizeof(res->refused) && !strstr(res->refused, why))
				rl += snprintf(res->refused + rl, sizeof(res->refused) - rl, "%s%s",
					       rl ? "; " : "", why);
		}
		if (e >= 0 && probe_none(res) && !probe_none(&l->result[e]) && end_orphaned(l, e, i)) {
			detach_lone_end(l, e, pr->name);
			attached--;
		}
	}
	/* Probes with per-thread entries in `calls`/`held`: thread exit then deletes them. */
	l->skel->bss->deep_probed = ladder_attached(l, "anon_vma_up_write") ||
				    ladder_attached(l, "rmap_walk_anon") || ladder_attached(l, "folio_lock");
	if (!attached) {
		snprintf(err, errlen, "no probe could be attached (%s)",
			 l->result[0].refused[0] ? l->result[0].refused : "see --verbose");
		return -ENOENT;
	}
	return 0;
}

const char *ladder_refusal(const struct ladder *l, const char *prog)
{
	struct bpf_program *p = bpf_object__find_program_by_name(l->skel->obj, prog);
	int i = p ? prog_index(l->skel, p) : -1;

	return i >= 0 && i < MAX_PROGS && refusal[i][0] ? refusal[i] : "not loaded";
}

bool ladder_attached(const struct ladder *l, const char *name)
{
	int i = probe_index(l, name);

	return i >= 0 && !probe_none(&l->result[i]);
}

void ladder_detach(struct ladder *l)
{
	for (size_t i = 0; l->links && i < l->nprobes; i++)
		detach_probe(l, i);
}

void ladder_destroy(struct ladder *l)
{
	ladder_detach(l);
	free(l->links);
	l->links = NULL;
	mmlock_bpf__destroy(l->skel);
	l->skel = NULL;
	free(l->result);
	l->result = NULL;
	l->nprobes = 0;
}
