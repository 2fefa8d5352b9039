// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The recording's JSON round trip and the reader's strictness (src/output/recording_json.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "model/recording.h"
#include "model/verify.h"
#include "output/recording_json.h"

/* Every ioctl nr a hook can see (_IOC_NR: 8 bits) has a name that reads back. */
static void test_uffd_names(void)
{
	for (unsigned int nr = 0; nr < 256; nr++) {
		const char *n = uffd_cmd_name(nr);

		CHECK(n != NULL);
		CHECK(n && uffd_cmd_from_name(n) == (int)nr);
	}
	CHECK(uffd_cmd_from_name("UFFDIO_UNKNOWN") == -1);
	CHECK(uffd_cmd_from_name("UFFDIO_0x100") == -1);
	CHECK(uffd_cmd_from_name("UFFDIO_0x5") == -1);	/* not the written form */
	CHECK(uffd_cmd_from_name("UFFDIO_0x -5") == -1);
	CHECK(uffd_cmd_from_name("UFFDIO_0x05zz") == -1);
	CHECK(uffd_cmd_from_name(NULL) == -1);
}

/* A recording with every ioctl nr written and read back equal. */
static void test_round_trip(void)
{
	char path[] = "/tmp/mmlock-test-rec.XXXXXX", err[512];
	struct recording a = {}, b;
	struct rec_thread *t;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	a.start_ns = 10;
	a.end_ns = 20;
	t = recording_thread(&a, 42);
	CHECK(t != NULL);
	if (!t)
		return;
	for (unsigned int nr = 0; nr < 256; nr++) {
		struct rec_hist *h = thread_hist(t, KIND_IOCTL, nr, SITE_UFFD_OTHER);

		CHECK(h != NULL);
		if (h)
			hist_add_sample(h, 1000 + nr, 0);
	}
	CHECK(recording_write_json(&a, path, err, sizeof(err)) == 0);
	CHECK(recording_read_json(&b, path, err, sizeof(err)) == 0);
	CHECK(b.nthreads == 1 && b.threads[0].tid == 42 && b.threads[0].nhists == 256);
	for (size_t i = 0; b.nthreads && i < b.threads[0].nhists; i++) {
		const struct rec_hist *h = &b.threads[0].hists[i];

		CHECK(h->kind == KIND_IOCTL && h->count == 1 && h->max_ns == 1000u + h->cls);
		/* No breakdown given: all of it unexplained, and that survives the trip. */
		CHECK(h->parts[PART_UNEXPLAINED] == h->total_ns && parts_sum(h->parts) == h->total_ns);
	}
	recording_free(&a);
	recording_free(&b);
	unlink(path);
}

/*
 * A recording that cannot fit the file limit, even without its events, is
 * refused in the limit's own unit: under the test aid's byte-sized limit the
 * writer said "does not fit in 0 MiB". Nothing is left at the path.
 */
static void test_too_big_names_limit(void)
{
	char path[] = "/tmp/mmlock-test-big.XXXXXX", err[512] = "";
	struct recording a = {};
	struct rec_thread *t;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	t = recording_thread(&a, 42);
	CHECK(t != NULL);
	for (unsigned int nr = 0; t && nr < 64; nr++) {
		struct rec_hist *h = thread_hist(t, KIND_IOCTL, nr, SITE_UFFD_OTHER);

		if (h)
			hist_add_sample(h, 1000 + nr, 0);
	}
	setenv("MMLOCK_TEST_JSON_MAX_FILE", "1000", 1);
	CHECK(recording_write_json(&a, path, err, sizeof(err)) == -EFBIG);
	unsetenv("MMLOCK_TEST_JSON_MAX_FILE");
	CHECK(strstr(err, "does not fit in 1000 bytes even without its events") != NULL);
	CHECK(strstr(err, "0 MiB") == NULL);
	CHECK(access(path, F_OK) != 0);
	if (check_failed)
		printf("  err: %s\n", err);
	recording_free(&a);
}

/* Every part has a name that reads back; lock parts are named by their class. */
static void test_part_names(void)
{
	for (unsigned int i = 0; i < NR_REC_PARTS; i++) {
		CHECK(part_name(i) && part_label(i));
		CHECK(part_name(i) && part_from_name(part_name(i)) == (int)i);
	}
	CHECK(!strcmp(part_name(CLASS_ANON_VMA_WRITE), "lock_sleep_anon_vma_write"));
	CHECK(!strcmp(part_name(CLASS_SPIN), "lock_sleep_spin"));	/* not lock_spin */
	CHECK(!strcmp(part_name(PART_LOCK_SPIN), "lock_spin"));
	CHECK(!strcmp(part_name(PART_RWSEM_SPIN), "rwsem_spin"));
	CHECK(!strcmp(part_name(PART_UNEXPLAINED), "unexplained"));
	CHECK(part_name(NR_REC_PARTS) == NULL && part_from_name("lock_sleep_") == -1);
}

/* The parts arithmetic: carving mirrors the BPF side; settling always sums to the total. */
static void test_parts_math(void)
{
	__u64 p[NR_REC_PARTS] = {};

	/* Spin and interrupts are cut out of on-CPU time, never beyond it. */
	p[PART_ON_CPU] = 100;
	p[PART_LOCK_SPIN] = 30;
	p[PART_INTERRUPTED] = 20;
	parts_carve(p);
	CHECK(p[PART_ON_CPU] == 50 && p[PART_LOCK_SPIN] == 30 && p[PART_INTERRUPTED] == 20);
	memset(p, 0, sizeof(p));
	p[PART_ON_CPU] = 10;
	p[PART_LOCK_SPIN] = 8;
	p[PART_INTERRUPTED] = 5;
	parts_carve(p);
	CHECK(p[PART_ON_CPU] == 0 && p[PART_LOCK_SPIN] == 8 && p[PART_INTERRUPTED] == 2);
	/* The rwsem spin too, after them, never beyond what they leave. */
	memset(p, 0, sizeof(p));
	p[PART_ON_CPU] = 100;
	p[PART_LOCK_SPIN] = 30;
	p[PART_RWSEM_SPIN] = 40;
	parts_carve(p);
	CHECK(p[PART_ON_CPU] == 30 && p[PART_RWSEM_SPIN] == 40 && p[PART_LOCK_SPIN] == 30);
	memset(p, 0, sizeof(p));
	p[PART_ON_CPU] = 50;
	p[PART_INTERRUPTED] = 20;
	p[PART_RWSEM_SPIN] = 40;
	parts_carve(p);
	CHECK(p[PART_ON_CPU] == 0 && p[PART_RWSEM_SPIN] == 30 && p[PART_INTERRUPTED] == 20);

	/* The remainder is what no part holds. */
	memset(p, 0, sizeof(p));
	p[PART_PREEMPTED] = 700;
	p[CLASS_ANON_VMA_WRITE] = 200;
	p[PART_UNEXPLAINED] = 12345;	/* stale: recomputed */
	CHECK(parts_settle(p, 1000) == 0);
	CHECK(p[PART_UNEXPLAINED] == 100 && parts_sum(p) == 1000);

	/* Named parts above the total are trimmed, on-CPU first, then the next ones. */
	memset(p, 0, sizeof(p));
	p[PART_ON_CPU] = 50;
	p[PART_LOCK_SPIN] = 30;
	p[CLASS_FOLIO] = 40;
	CHECK(parts_settle(p, 60) == 1);
	CHECK(p[PART_ON_CPU] == 0 && p[PART_LOCK_SPIN] == 20 && p[CLASS_FOLIO] == 40);
	CHECK(p[PART_UNEXPLAINED] == 0 && parts_sum(p) == 60);
}

/*
 * Which mechanism made each part, from the recording's probes; rwsem_spin is
 * measured only where its probe attached, and then it reads back.
 */
static void test_part_source(void)
{
	static const char with[] =
		"{\"tool\":\"mmlock\",\"format\":1,\"probes\":[{\"name\":\"sched_switch\",\"mechanism\":\"tp_btf\"},"
		"{\"name\":\"contention_begin\",\"mechanism\":\"raw_tp\"},{\"name\":\"rwsem_spin\",\"mechanism\":\"kprobe\"}],"
		"\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"ioctl\",\"command\":\"UFFDIO_MOVE\","
		"\"site\":\"uffd_move\",\"total_ns\":3,\"parts\":{\"rwsem_spin\":1,\"unexplained\":2}}]}]}";
	struct recording r = {}, none = {};
	struct rec_probe refused = { .name = "rwsem_spin", .mechanism = "none", .refused = "fentry: load EPERM" };
	const char *why = NULL;
	char buf[160], err[512];

	CHECK(recording_parse_json(&r, with, strlen(with), "t", err, sizeof(err)) == 0);
	CHECK(r.nthreads == 1 && r.threads[0].hists[0].parts[PART_RWSEM_SPIN] == 1);
	CHECK(part_measured(&r, PART_RWSEM_SPIN, &why));
	CHECK(!strcmp(part_source(&r, PART_RWSEM_SPIN, buf, sizeof(buf)), "rwsem_spin=kprobe contention_begin=raw_tp"));
	CHECK(!strcmp(part_source(&r, PART_PREEMPTED, buf, sizeof(buf)), "sched_switch=tp_btf"));
	CHECK(!strcmp(part_source(&r, CLASS_ANON_VMA_WRITE, buf, sizeof(buf)),
		      "sched_switch=tp_btf sched_wakeup=? contention_begin=raw_tp"));
	CHECK(!strcmp(part_source(&r, PART_UNEXPLAINED, buf, sizeof(buf)), "the remainder"));
	/* Every other part comes from tracepoints: always measured. */
	for (unsigned int p = 0; p < NR_REC_PARTS; p++)
		CHECK(p == PART_RWSEM_SPIN || part_measured(&none, p, NULL));
	CHECK(!part_measured(&none, PART_RWSEM_SPIN, &why) && strstr(why, "before"));
	none.probes = &refused;
	none.nprobes = 1;
	CHECK(!part_measured(&none, PART_RWSEM_SPIN, &why) && !strcmp(why, "fentry: load EPERM"));
	recording_free(&r);
}

/* diff's words for a part's change: more than 10% either way, or gone, or new. */
static void test_diff_change(void)
{
	CHECK(!strcmp(diff_change(0, 0), "-"));
	CHECK(!strcmp(diff_change(0, 5), "new"));
	CHECK(!strcmp(diff_change(5, 0), "vanished"));
	CHECK(!strcmp(diff_change(100, 110), "same"));
	CHECK(!strcmp(diff_change(100, 110.5), "grew"));
	CHECK(!strcmp(diff_change(100, 90), "same"));
	CHECK(!strcmp(diff_change(100, 89.5), "shrank"));
	CHECK(!strcmp(diff_change(1e-3, 1e3), "grew"));
}

/* A thread's parts merge with its histograms, and an event's parts read back as written. */
static void test_parts_round_trip(void)
{
	char path[] = "/tmp/mmlock-test-parts.XXXXXX", err[512];
	struct recording a = {}, b;
	struct rec_hist *h, add = { .kind = KIND_IOCTL, .count = 1, .total_ns = 5000 };
	struct rec_event *e;
	struct rec_thread *t;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	a.end_ns = 1;
	t = recording_thread(&a, 7);
	h = t ? thread_hist(t, KIND_IOCTL, UFFD_CMD_MOVE, SITE_UFFD_MOVE) : NULL;
	a.events = calloc(1, sizeof(*a.events));
	CHECK(h && a.events);
	if (!h || !a.events)
		return;
	hist_add_sample(h, 3000, 0);	/* unexplained 3000 */
	add.parts[PART_PREEMPTED] = 4000;
	add.parts[PART_UNEXPLAINED] = 1000;
	hist_merge(h, &add);
	CHECK(h->total_ns == 8000 && parts_sum(h->parts) == 8000);
	e = &a.events[a.nevents++];
	e->kind = KIND_IOCTL;
	e->cls = UFFD_CMD_MOVE;
	e->site = SITE_UFFD_MOVE;
	e->tid = 7;
	e->dur_ns = 2000000;
	e->parts[PART_PREEMPTED] = 1500000;
	e->parts[CLASS_ANON_VMA_WRITE] = 400000;
	e->other_tid = 9;
	e->by_ns = 1500000;
	strcpy(e->by_comm, "kworker/0:1");
	CHECK(parts_settle(e->parts, e->dur_ns) == 0);
	CHECK(recording_write_json(&a, path, err, sizeof(err)) == 0);
	CHECK(recording_read_json(&b, path, err, sizeof(err)) == 0);
	CHECK(b.nthreads == 1 && b.threads[0].nhists == 1 && b.nevents == 1);
	if (b.nthreads == 1 && b.nevents == 1) {
		CHECK(!memcmp(b.threads[0].hists[0].parts, h->parts, sizeof(h->parts)));
		CHECK(!memcmp(b.events[0].parts, e->parts, sizeof(e->parts)));
		CHECK(b.events[0].parts[PART_UNEXPLAINED] == 100000);
		CHECK(b.events[0].other_tid == 9 && b.events[0].by_ns == 1500000);
		CHECK(!strcmp(b.events[0].by_comm, "kworker/0:1"));
	}
	recording_free(&a);
	recording_free(&b);
	unlink(path);
}

/* Rejected with one message naming the field; nothing allocated is kept. */
static void test_strict(void)
{
	static const struct {
		const char *json, *want;
	} bad[] = {
		{ "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[{\"tid\":1},{\"tid\":1}]}",
		  "t: threads[1].tid: thread 1 is listed twice" },
		{ "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[{\"tid\":4294967296}]}",
		  "t: threads[0].tid: 4294967296 is out of range" },
		{ "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[{\"tid\":\"1\"}]}",
		  "t: threads[0].tid: not a whole number" },
		{ "{\"tool\":\"mmlock\",\"format\":1,\"start_ns\":2,\"end_ns\":1,\"threads\":[]}",
		  "t: end_ns: before start_ns" },
		{ "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[{\"tid\":1,\"stacks\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"nowhere\"}]}]}",
		  "t: threads[0].stacks[0].site: unknown name 'nowhere'" },
#define EV(parts) "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[],\"events\":[{\"kind\":\"ioctl\"," \
	"\"site\":\"uffd_move\",\"command\":\"UFFDIO_MOVE\",\"dur_ns\":10,\"parts\":{" parts "}}]}"
		{ EV("\"on_cpu\":4,\"unexplained\":5"), "t: events[0].parts: sum to 9, not dur_ns 10" },
		{ EV("\"on_cpu\":10"), "t: events[0].parts: no \"unexplained\"" },
		{ EV("\"on_cpu\":5,\"on_cpu\":5,\"unexplained\":0"), "t: events[0].parts: part 'on_cpu' twice" },
		{ EV("\"lock_sleep_nothing\":10,\"unexplained\":0"),
		  "t: events[0].parts: unknown part 'lock_sleep_nothing'" },
		{ EV("\"on_cpu\":18446744073709551615,\"preempted\":11,\"unexplained\":0"),
		  "t: events[0].parts: sum past 2^64, not dur_ns 10" },
		{ "{\"tool\":\"mmlock\",\"format\":1,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"ioctl\","
		  "\"command\":\"UFFDIO_MOVE\",\"site\":\"uffd_move\",\"total_ns\":3,\"parts\":{\"unexplained\":2}}]}]}",
		  "t: threads[0].hists[0].parts: sum to 2, not total_ns 3" },
		/* A part whose probe did not attach (or is not listed) is absent: its time is in on_cpu. */
		{ EV("\"rwsem_spin\":4,\"unexplained\":6"),
		  "t: events[0].parts: part 'rwsem_spin' but its probe did not attach" },
		{ "{\"tool\":\"mmlock\",\"format\":1,\"probes\":[{\"name\":\"rwsem_spin\",\"mechanism\":\"none\"}],"
		  "\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"ioctl\",\"command\":\"UFFDIO_MOVE\","
		  "\"site\":\"uffd_move\",\"total_ns\":3,\"parts\":{\"rwsem_spin\":1,\"unexplained\":2}}]}]}",
		  "t: threads[0].hists[0].parts: part 'rwsem_spin' but its probe did not attach" },
#undef EV
	};
	struct recording r;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(recording_parse_json(&r, bad[i].json, strlen(bad[i].json), "t", err, sizeof(err)) == -EINVAL);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)))
			printf("  case %zu: got '%s'\n", i, err);
		CHECK(!strncmp(err, bad[i].want, strlen(bad[i].want)));
		CHECK(!r.threads && !r.nthreads);
	}
}

/* --label parsing and the fleet identity through a JSON round trip (model/labels.c). */
static void test_identity(void)
{
	char path[] = "/tmp/mmlock-test-id.XXXXXX", err[512], e2[512];
	static const char *const bad[] = { "noeq", "=v", "9a=1", "a b=1", "arm=a\tb", "k\x7f=1" };
	struct rec_label l[3];
	struct recording a = {}, b;
	char big[300];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(label_parse(bad[i], &l[0], err, sizeof(err)) == -1 && strstr(err, "bad label"));
	memset(big, 'k', 63);
	strcpy(big + 63, "=v");
	CHECK(label_parse(big, &l[0], err, sizeof(err)) == 0 && strlen(l[0].key) == 63);
	big[63] = 'k';
	strcpy(big + 64, "=v");
	CHECK(label_parse(big, &l[0], err, sizeof(err)) == -1);
	CHECK(label_parse("zeta=a=b", &l[0], err, sizeof(err)) == 0 && !strcmp(l[0].value, "a=b"));
	CHECK(label_parse("arm=", &l[1], err, sizeof(err)) == 0 && !l[1].value[0]);
	CHECK(label_parse("_x.y-z=1", &l[2], err, sizeof(err)) == 0);
	CHECK(device_bad("") && device_bad("a\nb") && !device_bad("lab-1"));

	CHECK(recording_identify(&a, "lab-1", l, 3) == 0);
	CHECK(strlen(a.id) == 36 && a.id[14] == '4');
	CHECK(a.nlabels == 3 && !strcmp(a.labels[0].key, "_x.y-z") && !strcmp(a.labels[2].key, "zeta"));
	CHECK(recording_add_label(&a, &l[1]) == -EEXIST);
	a.end_ns = 1;
	CHECK(recording_write_json(&a, path, err, sizeof(err)) == 0);
	CHECK(recording_read_json(&b, path, e2, sizeof(e2)) == 0);
	CHECK(!strcmp(a.id, b.id) && !strcmp(b.device, "lab-1") && b.nlabels == 3);
	CHECK(b.nlabels == 3 && !strcmp(b.labels[2].value, "a=b") && !strcmp(b.labels[1].key, "arm"));
	recording_free(&b);
	recording_free(&a);

	/* Default device and a fresh id per recording. */
	CHECK(recording_identify(&a, NULL, NULL, 0) == 0 && recording_identify(&b, NULL, NULL, 0) == 0);
	CHECK(a.device[0] && !strcmp(a.device, b.device) && strcmp(a.id, b.id));
	recording_free(&a);
	recording_free(&b);
	unlink(path);
}

/*
 * A preempted ioctl with no kept wait: its chain's one hop is the thread
 * that ran instead. A thread mmlock followed gets its pid (JSON "pid" 0
 * means "not followed"); before, the preemptor hop never looked it up.
 */
static void test_chain_preemptor_pid(void)
{
	struct recording r = { 0 };
	struct rec_thread *t;

	t = recording_thread(&r, 10);
	t->pid = 10;
	snprintf(t->comm, sizeof(t->comm), "ui");
	t = recording_thread(&r, 11);
	t->pid = 10;
	snprintf(t->comm, sizeof(t->comm), "gc");
	r.nevents = 1;
	r.events = calloc(1, sizeof(*r.events));
	r.events[0] = (struct rec_event){ .ts_ns = 1000000000ULL, .dur_ns = 5000000ULL,
		.pid = 10, .tid = 10, .kind = KIND_IOCTL, .cls = UFFD_CMD_MOVE,
		.other_tid = 11, .by_ns = 3000000ULL };
	CHECK(chains_build(&r) == 0);
	CHECK(r.nchains == 1);
	if (r.nchains == 1) {
		const struct rec_hop *h = &r.chains[0].hops[0];

		CHECK(r.chains[0].nhops == 1 && h->why == HOP_PREEMPTOR && h->tid == 11);
		CHECK(h->pid == 10);
		CHECK(!strcmp(h->comm, "gc"));
	}
	/* Not followed: pid 0, the name from the event. */
	r.events[0].other_tid = 99;
	snprintf(r.events[0].by_comm, sizeof(r.events[0].by_comm), "kworker/1:0");
	CHECK(chains_build(&r) == 0);
	CHECK(r.nchains == 1 && r.chains[0].hops[0].pid == 0 &&
	      !strcmp(r.chains[0].hops[0].comm, "kworker/1:0"));
	recording_free(&r);
}

int main(void)
{
	RUN_TEST(test_uffd_names);
	RUN_TEST(test_round_trip);
	RUN_TEST(test_too_big_names_limit);
	RUN_TEST(test_part_names);
	RUN_TEST(test_parts_math);
	RUN_TEST(test_part_source);
	RUN_TEST(test_parts_round_trip);
	RUN_TEST(test_diff_change);
	RUN_TEST(test_strict);
	RUN_TEST(test_identity);
	RUN_TEST(test_chain_preemptor_pid);
	TEST_EXIT();
}
