// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The on-CPU samples: filing, summing, the JSON round trip (src/model/oncpu.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "model/recording.h"
#include "output/recording_json.h"

static char **frames_of(const char *const *names, int n)
{
	char **f = calloc(n, sizeof(*f));

	for (int i = 0; f && i < n; i++)
		f[i] = strdup(names[i]);
	return f;
}

static struct rec_cpu_sample sample(__u32 tid, __u64 ts, __u64 io_ts, const char *const *names,
				    int n)
{
	struct rec_cpu_sample s = {
		.ts_ns = ts, .ioctl_ts_ns = io_ts, .pid = 1, .tid = tid, .cmd = UFFD_CMD_MOVE,
		.wait_cls = SAMPLE_NO_WAIT, .nframes = n, .frames = frames_of(names, n),
	};
	return s;
}

static const char *const spin[] = { "native_queued_spin_lock_slowpath+0x1b", "_raw_spin_lock+0x2d",
				    "move_pages_ptes+0x3c4", "move_pages+0x10", "userfaultfd_ioctl+0x5" };
static const char *const ipi[] = { "smp_call_function_many_cond+0x11", "on_each_cpu_cond_mask+0x2",
				   "flush_tlb_mm_range+0x9", "move_pages_ptes+0x40" };
static const char *const leaf[] = { "move_pages_ptes+0x80", "move_pages+0x10" };
static const char *const helpers[] = { "_raw_spin_lock+0x2d", "do_syscall_64+0x71" };
/* An rwsem spin seen through an fexit program's trampoline (6.17 guest): the BPF frame is a tracer's, never the cause. */
static const char *const traced[] = { "rwsem_spin_on_owner+0x5e", "rwsem_down_write_slowpath+0x2e1",
				      "bpf_prog_67aa3f0dba9b2492_uffd_ioctl_exit+0x5c", "bpf_trampoline_6442491423+0x4d",
				      "move_pages+0x2a0", "userfaultfd_ioctl+0x40" };

static void test_via(void)
{
	char buf[64];
	char **f = frames_of(spin, 5), **g = frames_of(leaf, 2), **h = frames_of(helpers, 2);
	char **t = frames_of(traced, 6);

	CHECK(!strcmp(frame_func("move_pages_ptes+0x3c4", buf, sizeof(buf)), "move_pages_ptes"));
	CHECK(!strcmp(frame_func("0xffffffff81000000", buf, sizeof(buf)), "0xffffffff81000000"));
	CHECK(!strcmp(frame_func("a_long_name+0x1", buf, 5), "a_lo"));
	CHECK(f && oncpu_via(f, 5) == 2);	/* past the spinlock helpers */
	CHECK(g && oncpu_via(g, 2) == 0);	/* the leaf is the work itself */
	CHECK(h && oncpu_via(h, 2) == -1);	/* helpers all the way */
	CHECK(t && oncpu_via(t, 6) == 4);	/* past the tracer's own frames */
	frames_free(t, 6);
	frames_free(f, 5);
	frames_free(g, 2);
	frames_free(h, 2);
}

/* Summed per thread x command over all samples; kept up to the bound; filed under events by ts. */
static void test_file(void)
{
	struct recording r = { .max_cpu_samples = 4 };
	struct rec_cpu_sample s[] = {
		sample(7, 1100, 1000, spin, 5), sample(7, 1200, 1000, spin, 5),
		sample(7, 1300, 1000, ipi, 4), sample(7, 5100, 5000, leaf, 2),
		sample(7, 5200, 5000, leaf, 2),	/* beyond the bound: summed, not kept */
		sample(8, 1150, 1000, leaf, 2),	/* another thread, an ioctl that began at the same ns */
	};
	const struct rec_oncpu *o;

	r.events = calloc(3, sizeof(*r.events));
	CHECK(r.events != NULL);
	if (!r.events)
		return;
	r.events[r.nevents++] = (struct rec_event){ .ts_ns = 1000, .dur_ns = 500, .tid = 9,
						    .kind = KIND_IOCTL, .cls = UFFD_CMD_MOVE };
	r.events[r.nevents++] = (struct rec_event){ .ts_ns = 1000, .dur_ns = 500, .tid = 7,
						    .kind = KIND_IOCTL, .cls = UFFD_CMD_MOVE };
	r.events[r.nevents++] = (struct rec_event){ .ts_ns = 1000, .dur_ns = 500, .tid = 7,
						    .kind = KIND_LOCK, .cls = CLASS_SPIN };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		CHECK(oncpu_add(&r, &s[i]) == 0);
	CHECK(r.ncpu_samples == 4 && r.sampler.not_kept == 2);
	recording_sort(&r);
	CHECK(oncpu_file_events(&r) == 0);
	o = oncpu_find(&r, 7, UFFD_CMD_MOVE, 0);
	CHECK(o && o->samples == 5 && o->nfuncs == 3);
	if (o && o->nfuncs == 3) {
		CHECK(!strcmp(o->funcs[0].func, "move_pages_ptes") && o->funcs[0].samples == 2 &&
		      !o->funcs[0].via[0]);
		CHECK(!strcmp(o->funcs[1].func, "native_queued_spin_lock_slowpath") &&
		      !strcmp(o->funcs[1].via, "move_pages_ptes") && o->funcs[1].samples == 2);
		CHECK(!strcmp(o->funcs[2].func, "smp_call_function_many_cond") &&
		      !strcmp(o->funcs[2].via, "move_pages_ptes") && o->funcs[2].samples == 1);
	}
	/* The kept samples of ioctl 1000 of tid 7, not tid 8's nor tid 9's, not the lock wait's. */
	o = oncpu_find(&r, 7, UFFD_CMD_MOVE, 1000);
	CHECK(o && o->samples == 3);
	CHECK(!oncpu_find(&r, 9, UFFD_CMD_MOVE, 1000));
	CHECK(!oncpu_find(&r, 8, UFFD_CMD_MOVE, 1000));	/* no event of tid 8 was kept */
	CHECK(oncpu_find(&r, 8, UFFD_CMD_MOVE, 0) && oncpu_find(&r, 8, UFFD_CMD_MOVE, 0)->samples == 1);
	CHECK(!oncpu_find(&r, 7, UFFD_CMD_MOVE, 5000));	/* kept samples, no kept event */
	recording_free(&r);
}

static void test_round_trip(void)
{
	char path[] = "/tmp/mmlock-test-oncpu.XXXXXX", err[512];
	struct recording a = { .max_cpu_samples = 10, .end_ns = 1 }, b;
	struct rec_cpu_sample s1 = sample(7, 1100, 1000, spin, 5), s2 = sample(7, 1200, 1000, ipi, 4);
	struct rec_thread *t = recording_thread(&a, 7);
	struct rec_hist *h = t ? thread_hist(t, KIND_IOCTL, UFFD_CMD_MOVE, SITE_UFFD_MOVE) : NULL;
	int fd = mkstemp(path);

	CHECK(fd >= 0 && h);
	close(fd);
	if (!h)
		return;
	hist_add_sample(h, 3000, 0);
	h->parts[PART_UNEXPLAINED] = 3000;
	s1.wait_cls = CLASS_SPIN;
	s1.spin = true;
	a.sampler = (struct rec_sampler){ .hz = 99, .cpus = 2, .attached = true, .samples = 5,
					  .filed = 2, .lost = 1, .no_stack = 2 };
	a.events = calloc(1, sizeof(*a.events));
	CHECK(a.events != NULL);
	if (!a.events)
		return;
	a.events[a.nevents++] = (struct rec_event){ .ts_ns = 1000, .dur_ns = 500, .tid = 7,
						    .kind = KIND_IOCTL, .cls = UFFD_CMD_MOVE,
						    .site = SITE_UFFD_MOVE };
	a.events[0].parts[PART_UNEXPLAINED] = 500;
	CHECK(oncpu_add(&a, &s1) == 0 && oncpu_add(&a, &s2) == 0);
	CHECK(oncpu_file_events(&a) == 0);
	CHECK(recording_write_json(&a, path, err, sizeof(err)) == 0);
	CHECK(recording_read_json(&b, path, err, sizeof(err)) == 0);
	CHECK(b.sampler.hz == 99 && b.sampler.cpus == 2 && b.sampler.attached &&
	      b.sampler.samples == 5 && b.sampler.filed == 2 && b.sampler.lost == 1 &&
	      b.sampler.no_stack == 2);
	CHECK(b.ncpu_samples == 2);
	if (b.ncpu_samples == 2) {
		CHECK(b.cpu_samples[0].ts_ns == 1100 && b.cpu_samples[0].ioctl_ts_ns == 1000 &&
		      b.cpu_samples[0].tid == 7 && b.cpu_samples[0].cmd == UFFD_CMD_MOVE);
		CHECK(b.cpu_samples[0].wait_cls == CLASS_SPIN && b.cpu_samples[0].spin);
		CHECK(b.cpu_samples[1].wait_cls == SAMPLE_NO_WAIT);
		CHECK(b.cpu_samples[0].nframes == 5 &&
		      !strcmp(b.cpu_samples[0].frames[2], "move_pages_ptes+0x3c4"));
	}
	for (int ts = 0; ts <= 1000; ts += 1000) {
		const struct rec_oncpu *x = oncpu_find(&a, 7, UFFD_CMD_MOVE, ts);
		const struct rec_oncpu *y = oncpu_find(&b, 7, UFFD_CMD_MOVE, ts);

		CHECK(x && y && x->samples == 2 && y->samples == 2 && y->nfuncs == x->nfuncs);
		for (size_t i = 0; x && y && i < x->nfuncs && i < y->nfuncs; i++)
			CHECK(!strcmp(x->funcs[i].func, y->funcs[i].func) &&
			      !strcmp(x->funcs[i].via, y->funcs[i].via) &&
			      x->funcs[i].samples == y->funcs[i].samples);
	}
	recording_free(&a);
	recording_free(&b);
	unlink(path);
}

static void test_strict(void)
{
	static const struct {
		const char *json, *want;
	} bad[] = {
#define HI(top) "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"ioctl\"," \
	"\"command\":\"UFFDIO_MOVE\",\"site\":\"uffd_move\",\"oncpu_samples\":3,\"oncpu_top\":[" top "]}]}]}"
		{ HI("{\"func\":\"a\",\"samples\":2},{\"func\":\"b\",\"samples\":2}"),
		  "t: threads[0].hists[0].oncpu_top[1].samples: more than oncpu_samples in all" },
		{ HI("{\"func\":\"\",\"samples\":1}"),
		  "t: threads[0].hists[0].oncpu_top[0]: not a {func, via, samples}" },
		{ HI("{\"func\":\"a\",\"samples\":0}"),
		  "t: threads[0].hists[0].oncpu_top[0]: not a {func, via, samples}" },
#undef HI
		{ "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[],\"sampler\":{\"samples\":1,\"filed\":2}}",
		  "t: sampler.filed: more than samples" },
		{ "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[],\"cpu_samples\":[{\"ts_ns\":5,"
		  "\"ioctl_ts_ns\":6,\"command\":\"UFFDIO_MOVE\"}]}",
		  "t: cpu_samples[0].ioctl_ts_ns: 6 is out of range" },
		{ "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[],\"cpu_samples\":[{\"command\":"
		  "\"UFFDIO_MOVE\",\"wait\":\"nothing\"}]}",
		  "t: cpu_samples[0].wait: unknown name 'nothing'" },
	};
	static const char old[] = "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[]}";
	struct recording r;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(recording_parse_json(&r, bad[i].json, strlen(bad[i].json), "t", err, sizeof(err)) == -EINVAL);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)))
			printf("  case %zu: got '%s'\n", i, err);
		CHECK(!strncmp(err, bad[i].want, strlen(bad[i].want)));
		CHECK(!r.noncpu && !r.ncpu_samples);
	}
	/* A recording from before the sampler: no samples, sampler off. */
	CHECK(recording_parse_json(&r, old, strlen(old), "t", err, sizeof(err)) == 0);
	CHECK(!r.sampler.hz && !r.sampler.attached && !r.ncpu_samples && !r.noncpu);
	recording_free(&r);
}

int main(void)
{
	RUN_TEST(test_via);
	RUN_TEST(test_file);
	RUN_TEST(test_round_trip);
	RUN_TEST(test_strict);
	TEST_EXIT();
}
