// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pb.c and the Perfetto exporter on a fixed synthetic recording.
 *
 *   test_perfetto                 run the tests
 *   test_perfetto --write FILE    write the synthetic trace to FILE (for
 *                                 tests/integration/perfetto_synthetic.sh)
 *   MMLOCK_UPDATE_GOLDEN=1 test_perfetto
 *                                 rewrite tests/perfetto/golden.pftrace
 * The golden file is found at $MMLOCK_GOLDEN, $TOP/tests/perfetto/ or
 * tests/perfetto/ under the current directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "output/pb.h"
#include "output/perfetto.h"

#define T0	5000000000000ULL	/* 5000 s of boottime */
#define MS	1000000ULL
#define US	1000ULL

/* ---- pb.c ---- */

static bool bytes_eq(const struct pb *b, const void *want, size_t n)
{
	return !b->err && b->len == n && !memcmp(b->buf, want, n);
}

static void test_varint(void)
{
	static const struct {
		uint64_t v;
		size_t n;
		unsigned char enc[10];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 127, 1, { 0x7f } },
		{ 128, 2, { 0x80, 0x01 } },
		{ 300, 2, { 0xac, 0x02 } },
		{ 16383, 2, { 0xff, 0x7f } },
		{ 16384, 3, { 0x80, 0x80, 0x01 } },
		{ 1ULL << 63, 10, { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 } },
		{ UINT64_MAX, 10, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 } },
	};
	unsigned char buf[PB_VARINT_MAX], bad[11];
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb b;

		CHECK(pb_varint_len(cases[i].v) == cases[i].n);
		CHECK(pb_encode_varint(buf, cases[i].v) == cases[i].n);
		CHECK(!memcmp(buf, cases[i].enc, cases[i].n));
		CHECK(pb_decode_varint(buf, cases[i].n, &v) == cases[i].n && v == cases[i].v);
		/* Truncated input is refused. */
		CHECK(pb_decode_varint(buf, cases[i].n - 1, &v) == 0);
		pb_init(&b);
		pb_put_varint(&b, cases[i].v);
		CHECK(bytes_eq(&b, cases[i].enc, cases[i].n));
		pb_free(&b);
	}
	/* 11 bytes, or a 10th byte above 1, is not a uint64. */
	memset(bad, 0xff, sizeof(bad));
	CHECK(pb_decode_varint(bad, sizeof(bad), &v) == 0);
	bad[9] = 0x02;
	CHECK(pb_decode_varint(bad, 10, &v) == 0);

	CHECK(pb_zigzag(0) == 0);
	CHECK(pb_zigzag(-1) == 1);
	CHECK(pb_zigzag(1) == 2);
	CHECK(pb_zigzag(INT64_MAX) == UINT64_MAX - 1);
	CHECK(pb_zigzag(INT64_MIN) == UINT64_MAX);
}

static void test_fields(void)
{
	struct pb b;
	static const unsigned char neg[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0x01 };
	static const unsigned char fx[] = { 0x11, 0x08, 0x07, 0x06, 0x05, 0x04,
					    0x03, 0x02, 0x01 };
	static const unsigned char one[] = { 0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f };
	static const unsigned char str[] = { 0xba, 0x01, 0x02, 'h', 'i' };
	static const unsigned char big_tag[] = { 0xb8, 0x05, 0x01 };	/* field 87 */

	pb_init(&b);
	pb_int(&b, 1, -1);
	CHECK(bytes_eq(&b, neg, sizeof(neg)));
	pb_reset(&b);
	pb_fixed64(&b, 2, 0x0102030405060708ULL);
	CHECK(bytes_eq(&b, fx, sizeof(fx)));
	pb_reset(&b);
	pb_double(&b, 5, 1.0);
	CHECK(bytes_eq(&b, one, sizeof(one)));
	pb_reset(&b);
	pb_string(&b, 23, "hi");
	CHECK(bytes_eq(&b, str, sizeof(str)));
	pb_reset(&b);
	pb_bool(&b, 87, true);
	CHECK(bytes_eq(&b, big_tag, sizeof(big_tag)));
	pb_reset(&b);
	pb_sint(&b, 1, -2);
	CHECK(b.len == 2 && b.buf[1] == 3);
	/* Unbalanced end is a sticky error. */
	pb_reset(&b);
	pb_end(&b);
	CHECK(b.err == -EINVAL);
	pb_uint(&b, 1, 1);
	CHECK(b.len == 0);
	pb_free(&b);
}

static void test_nested(void)
{
	struct pb b;
	char s200[200], big[20000];
	uint64_t v;
	size_t n, at;

	memset(s200, 'a', sizeof(s200));
	memset(big, 'b', sizeof(big));
	pb_init(&b);

	/* Empty nested message. */
	pb_begin(&b, 3);
	pb_end(&b);
	CHECK(b.len == 2 && b.buf[0] == 0x1a && b.buf[1] == 0);

	/* Body of 127 bytes: one length byte; 128 and more: two. */
	pb_reset(&b);
	pb_begin(&b, 1);
	pb_bytes(&b, 2, s200, 125);	/* tag + len + 125 = 127 */
	pb_end(&b);
	CHECK(b.len == 2 + 127 && b.buf[1] == 127);
	pb_reset(&b);
	pb_begin(&b, 1);
	pb_bytes(&b, 2, s200, 126);	/* 128 */
	pb_end(&b);
	CHECK(b.len == 3 + 128 && b.buf[1] == 0x80 && b.buf[2] == 0x01);
	CHECK(b.buf[3] == 0x12 && b.buf[4] == 126 && b.buf[5] == 'a');

	/* Two levels, the inner > 127 bytes, the outer > 16383 bytes. */
	pb_reset(&b);
	pb_begin(&b, 1);
	pb_uint(&b, 8, 42);
	pb_begin(&b, 11);
	pb_bytes(&b, 2, s200, sizeof(s200));
	pb_end(&b);
	pb_bytes(&b, 3, big, sizeof(big));
	pb_end(&b);
	CHECK(!b.err && b.depth == 0);
	/* outer: tag, len */
	CHECK(b.buf[0] == 0x0a);
	n = pb_decode_varint(b.buf + 1, b.len - 1, &v);
	CHECK(n == 3 && v == b.len - 1 - n);
	at = 1 + n;
	CHECK(b.buf[at] == 0x40 && b.buf[at + 1] == 42);
	at += 2;
	CHECK(b.buf[at] == 0x5a);		/* field 11, LEN */
	n = pb_decode_varint(b.buf + at + 1, b.len, &v);
	CHECK(n == 2 && v == 3 + sizeof(s200));	/* tag + 2-byte len + 200 */
	at += 1 + n + v;
	CHECK(b.buf[at] == 0x1a);		/* field 3 */
	n = pb_decode_varint(b.buf + at + 1, b.len, &v);
	CHECK(n == 3 && v == sizeof(big) && at + 1 + n + v == b.len);

	/* Depth limit. */
	pb_reset(&b);
	for (int i = 0; i <= PB_MAX_DEPTH; i++)
		pb_begin(&b, 1);
	CHECK(b.err == -EINVAL);
	pb_free(&b);
}

/* ---- the synthetic recording ---- */

static char **frames(int n, ...)
{
	char **f = calloc(n, sizeof(*f));
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		f[i] = strdup(va_arg(ap, const char *));
	va_end(ap);
	return f;
}

static void add_hist(struct rec_thread *t, __u8 kind, __u8 cls, __u8 site,
		     __u64 aux, int n, ...)
{
	struct rec_hist *h = thread_hist(t, kind, cls, site);
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		__u64 v = va_arg(ap, __u64);

		h->count++;
		h->total_ns += v;
		if (v > h->max_ns)
			h->max_ns = v;
		h->slots[hist_slot(v)]++;
	}
	va_end(ap);
	h->aux_ns += aux;
}

static struct rec_thread *add_thread(struct recording *r, __u32 tid, __u32 pid,
				     const char *comm, const char *pcomm)
{
	struct rec_thread *t = recording_thread(r, tid);

	t->pid = pid;
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	snprintf(t->pcomm, sizeof(t->pcomm), "%s", pcomm);
	return t;
}

#define NR_SYN_EVENTS	11

/*
 * 2 processes, 3 threads: gcsim (1000) with ui (1000) and HeapTaskDaemon
 * (1003), kswapd0 (2000). Nested events: ioctl > lock wait > D-state, one
 * lock wait outliving its ioctl (clamped), two threads starting at the same
 * ns, a zero-length D-state period.
 */
static void synthetic(struct recording *r)
{
	static const struct rec_event ev[NR_SYN_EVENTS] = {
		/* HeapTaskDaemon: UFFDIO_MOVE [1, 11) ms */
		{ .ts_ns = T0 + 1 * MS, .dur_ns = 10 * MS, .aux_ns = 2 << 20, .pid = 1000,
		  .tid = 1003, .flags = 0xC028AA05, .kind = KIND_IOCTL, .cls = UFFD_CMD_MOVE,
		  .site = SITE_UFFD_MOVE,
		  /* its breakdown: debug.parts.* (PART_UNEXPLAINED always written) */
		  .parts = { [CLASS_ANON_VMA_WRITE] = 1500 * US, [PART_LOCK_SPIN] = 3 * MS,
			     [PART_ON_CPU] = 5500 * US } },
		{ .ts_ns = T0 + 2 * MS, .dur_ns = 3 * MS, .addr = 0xffff888012345678ULL,
		  .pid = 1000, .tid = 1003, .flags = LCB_F_WRITE, .other_tid = 1000,
		  .kind = KIND_LOCK, .cls = CLASS_ANON_VMA_WRITE, .site = SITE_UFFD_MOVE },
		{ .ts_ns = T0 + 2500 * US, .dur_ns = 1500 * US, .addr = 0xffff888012345678ULL,
		  .aux_ns = 30 * US, .pid = 1000, .tid = 1003, .other_tid = 1000,
		  .kind = KIND_DSTATE, .cls = CLASS_ANON_VMA_WRITE, .site = SITE_UFFD_MOVE },
		/* ui and kswapd0 both start waiting at 3 ms */
		{ .ts_ns = T0 + 3 * MS, .dur_ns = 50 * MS, .addr = 0xffff888012345678ULL,
		  .pid = 1000, .tid = 1000, .flags = LCB_F_WRITE, .other_tid = 1003,
		  .kind = KIND_LOCK, .cls = CLASS_ANON_VMA_WRITE, .site = SITE_UFFD_MOVE },
		{ .ts_ns = T0 + 3 * MS, .dur_ns = 2 * MS, .addr = 0xffffea0001234560ULL,
		  .pid = 2000, .tid = 2000, .kind = KIND_LOCK, .cls = CLASS_FOLIO,
		  .site = SITE_RECLAIM },
		{ .ts_ns = T0 + 3200 * US, .dur_ns = 1 * MS, .aux_ns = 5 * US, .pid = 2000,
		  .tid = 2000, .kind = KIND_DSTATE, .cls = CLASS_IO, .site = SITE_RECLAIM },
		{ .ts_ns = T0 + 3500 * US, .dur_ns = 40 * MS, .addr = 0xffff888012345678ULL,
		  .aux_ns = 200 * US, .pid = 1000, .tid = 1000, .other_tid = 1003,
		  .kind = KIND_DSTATE, .cls = CLASS_ANON_VMA_WRITE, .site = SITE_UFFD_MOVE },
		/* ends at 12 ms, after its ioctl: clamped to 11 ms */
		{ .ts_ns = T0 + 8 * MS, .dur_ns = 4 * MS, .addr = 0xffff888000aa0000ULL,
		  .pid = 1000, .tid = 1003, .flags = LCB_F_SPIN, .kind = KIND_LOCK,
		  .cls = CLASS_SPIN, .site = SITE_UFFD_MOVE },
		{ .ts_ns = T0 + 20 * MS, .dur_ns = 2 * MS, .aux_ns = 4096, .pid = 1000,
		  .tid = 1003, .flags = 0xC028AA03, .ret = -17, .kind = KIND_IOCTL,
		  .cls = UFFD_CMD_COPY, .site = SITE_UFFD_COPY },
		{ .ts_ns = T0 + 30 * MS, .dur_ns = 0, .pid = 2000, .tid = 2000,
		  .other_tid = 1003, .kind = KIND_DSTATE, .cls = CLASS_ANON_VMA_READ,
		  .site = SITE_RMAP_WALK },
		{ .ts_ns = T0 + 60 * MS, .dur_ns = 1500 * US, .addr = 0xffff888011110000ULL,
		  .pid = 1000, .tid = 1000, .flags = LCB_F_READ, .kind = KIND_LOCK,
		  .cls = CLASS_MMAP_READ, .site = SITE_FAULT },
	};
	struct rec_thread *ui, *htd, *ksw;

	memset(r, 0, sizeof(*r));
	snprintf(r->tool_version, sizeof(r->tool_version), "0.1.0");
	snprintf(r->kernel, sizeof(r->kernel), "6.12.0-test");
	snprintf(r->arch, sizeof(r->arch), "x86_64");
	r->start_ns = T0;
	r->end_ns = T0 + 250 * MS;
	r->clk_boottime_ns = T0;
	r->clk_monotonic_ns = T0 - 1000 * MS;
	r->clk_realtime_ns = 1750000000000000000ULL;
	r->min_slice_ns = 0;
	r->stack_min_ns = 1 * MS;
	r->counters[CNT_RINGBUF_DROP] = 7;
	r->counters[CNT_STACK_FAIL] = 1;
	r->events_dropped = 2;
	r->nprobes = 2;
	r->probes = calloc(2, sizeof(*r->probes));
	snprintf(r->probes[0].name, sizeof(r->probes[0].name), "contention_begin");
	snprintf(r->probes[0].mechanism, sizeof(r->probes[0].mechanism), "tp_btf");
	snprintf(r->probes[1].name, sizeof(r->probes[1].name), "uffd_ioctl");
	snprintf(r->probes[1].mechanism, sizeof(r->probes[1].mechanism), "kprobe");
	snprintf(r->probes[1].refused, sizeof(r->probes[1].refused), "fentry: load EPERM");

	ui = add_thread(r, 1000, 1000, "ui", "gcsim");
	add_hist(ui, KIND_LOCK, CLASS_ANON_VMA_WRITE, SITE_UFFD_MOVE, 0, 4,
		 50 * MS, 1200 * US, 1300 * US, 2 * MS);
	add_hist(ui, KIND_DSTATE, CLASS_ANON_VMA_WRITE, SITE_UFFD_MOVE, 200 * US, 1, 40 * MS);
	add_hist(ui, KIND_LOCK, CLASS_MMAP_READ, SITE_FAULT, 0, 2, 1500 * US, 800 * US);
	htd = add_thread(r, 1003, 1000, "HeapTaskDaemon", "gcsim");
	add_hist(htd, KIND_IOCTL, UFFD_CMD_MOVE, SITE_UFFD_MOVE, 0, 4,
		 10 * MS, 1 * MS, 1 * MS, 1100 * US);
	add_hist(htd, KIND_IOCTL, UFFD_CMD_COPY, SITE_UFFD_COPY, 1, 1, 2 * MS);
	add_hist(htd, KIND_LOCK, CLASS_ANON_VMA_WRITE, SITE_UFFD_MOVE, 0, 1, 3 * MS);
	add_hist(htd, KIND_LOCK, CLASS_SPIN, SITE_UFFD_MOVE, 0, 1, 4 * MS);
	ksw = add_thread(r, 2000, 2000, "kswapd0", "kswapd0");
	add_hist(ksw, KIND_LOCK, CLASS_FOLIO, SITE_RECLAIM, 0, 1, 2 * MS);
	add_hist(ksw, KIND_DSTATE, CLASS_IO, SITE_RECLAIM, 5 * US, 1, 1 * MS);
	/* An empty histogram is skipped. */
	thread_hist(ksw, KIND_DSTATE, CLASS_ANON_VMA_READ, SITE_RMAP_WALK);

	r->nevents = NR_SYN_EVENTS;
	r->events = calloc(NR_SYN_EVENTS, sizeof(*r->events));
	memcpy(r->events, ev, sizeof(ev));
	r->events[3].nframes = 3;
	r->events[3].frames = frames(3, "rwsem_down_write_slowpath+0x2a4",
				     "down_write+0x5c", "move_pages+0x1f0");
	r->events[1].nframes = 2;
	r->events[1].frames = frames(2, "rwsem_down_write_slowpath+0x2a4",
				     "move_pages+0x1f0");

	/*
	 * Two chains (as chain.c would build them): ui's 50 ms wait, owner
	 * HeapTaskDaemon, which has no kept event over it (a "blocking" slice);
	 * kswapd0's folio wait, woken by HeapTaskDaemon, whose anon_vma wait
	 * [2, 5) ms covers it (that slice is the flow's source).
	 */
	r->nchains = r->chains_cap = 2;
	r->chains = calloc(2, sizeof(*r->chains));
	r->chains[0] = (struct rec_chain){ .event = 3, .nhops = 1 };
	r->chains[0].hops[0] = (struct rec_hop){ .waiter = 3, .tid = 1003, .pid = 1000,
		.comm = "HeapTaskDaemon", .why = HOP_OWNER, .source = HOP_PARTS_IOCTL,
		.overlap_ns = 50 * MS, .window_ns = 8 * MS,
		.parts = { [PART_ON_CPU] = 6 * MS, [PART_UNEXPLAINED] = 2 * MS } };
	r->chains[1] = (struct rec_chain){ .event = 4, .nhops = 1 };
	r->chains[1].hops[0] = (struct rec_hop){ .waiter = 4, .tid = 1003, .pid = 1000,
		.comm = "HeapTaskDaemon", .why = HOP_WAKER, .overlap_ns = 2 * MS };

	r->nsamples = 4;
	r->samples = calloc(4, sizeof(*r->samples));
	r->samples[0] = (struct rec_sample){ .ts_ns = T0 + 100 * MS, .pid = 1000, .ioctls = 4 };
	r->samples[0].waits[CLASS_ANON_VMA_WRITE] = 3;
	r->samples[0].waits[CLASS_MMAP_READ] = 1;
	r->samples[1] = (struct rec_sample){ .ts_ns = T0 + 100 * MS, .pid = 2000 };
	r->samples[1].waits[CLASS_FOLIO] = 1;
	r->samples[1].waits[CLASS_IO] = 1;
	r->samples[2] = (struct rec_sample){ .ts_ns = T0 + 200 * MS, .pid = 1000, .ioctls = 2 };
	r->samples[2].waits[CLASS_ANON_VMA_WRITE] = 1;
	r->samples[3] = (struct rec_sample){ .ts_ns = T0 + 200 * MS, .pid = 2000 };
}

/* ---- helpers ---- */

static char tmpdir[64];

static void mktmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mmlock-pf.XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

static void rmtmp(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

static int count_files(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc(n + 1);
		if (buf && fread(buf, 1, n, f) == (size_t)n)
			*len = n;
	}
	fclose(f);
	return buf;
}

static const char *golden_path(void)
{
	static char buf[512];
	const char *e = getenv("MMLOCK_GOLDEN"), *top = getenv("TOP");
	const char *slash;

	if (e)
		return e;
	if (top) {
		snprintf(buf, sizeof(buf), "%s/tests/perfetto/golden.pftrace", top);
		return buf;
	}
	if (!access("tests/perfetto/mini.proto", R_OK))
		return "tests/perfetto/golden.pftrace";
	/* Next to this source file: .../tests/unit/test_perfetto.c */
	slash = strrchr(__FILE__, '/');
	snprintf(buf, sizeof(buf), "%.*s/../perfetto/golden.pftrace",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	return buf;
}

/* ---- a minimal structural reader of our own output ---- */

struct walk {
	int packets, begins, ends, instants, counters, descriptors;
	int unbalanced, nonmono, bad;
	__u64 uuid[64];
	int depth[64];
	int ntracks;
	__u32 seq[4];
	__u64 last[4];
	int nseq;
};

/* Next field of p[0..n) at *at: returns 0 at end, -1 on error. */
static int next_field(const unsigned char *p, size_t n, size_t *at, unsigned int *field,
		      uint64_t *v, const unsigned char **sub)
{
	uint64_t tag;
	size_t k;

	if (*at >= n)
		return 0;
	k = pb_decode_varint(p + *at, n - *at, &tag);
	if (!k)
		return -1;
	*at += k;
	*field = tag >> 3;
	switch (tag & 7) {
	case PB_WT_VARINT:
		k = pb_decode_varint(p + *at, n - *at, v);
		if (!k)
			return -1;
		*at += k;
		return 1;
	case PB_WT_FIXED64:
		if (n - *at < 8)
			return -1;
		*v = 0;
		for (k = 8; k-- > 0;)
			*v = *v << 8 | p[*at + k];	/* little-endian */
		*at += 8;
		return 1;
	case PB_WT_LEN:
		k = pb_decode_varint(p + *at, n - *at, v);
		if (!k || *v > n - *at - k)
			return -1;
		*sub = p + *at + k;
		*at += k + *v;
		return 2;
	default:
		return -1;
	}
}

static int *track_depth(struct walk *wk, __u64 uuid)
{
	for (int i = 0; i < wk->ntracks; i++)
		if (wk->uuid[i] == uuid)
			return &wk->depth[i];
	if (wk->ntracks == 64)
		return NULL;
	wk->uuid[wk->ntracks] = uuid;
	wk->depth[wk->ntracks] = 0;
	return &wk->depth[wk->ntracks++];
}

static void walk_trace(const unsigned char *p, size_t n, struct walk *wk)
{
	size_t at = 0;
	unsigned int f;
	uint64_t v;
	const unsigned char *pkt;
	int r;

	memset(wk, 0, sizeof(*wk));
	while ((r = next_field(p, n, &at, &f, &v, &pkt)) > 0) {
		size_t pat = 0, plen = v, eat;
		const unsigned char *sub, *te = NULL;
		uint64_t ts = 0, seq = 0, tlen = 0, type = 0, uuid = 0, x;
		unsigned int g;
		int s;

		if (r != 2 || f != 1) {
			wk->bad++;
			return;
		}
		wk->packets++;
		while ((r = next_field(pkt, plen, &pat, &g, &x, &sub)) > 0) {
			if (g == 8)
				ts = x;
			else if (g == 10)
				seq = x;
			else if (g == 11 && r == 2)
				te = sub, tlen = x;
			else if (g == 60)
				wk->descriptors++;
		}
		if (r < 0)
			wk->bad++;
		for (s = 0; s < wk->nseq && wk->seq[s] != seq; s++)
			;
		if (s == wk->nseq && s < 4) {
			wk->seq[s] = seq;
			wk->nseq++;
		} else if (s < 4 && ts < wk->last[s]) {
			wk->nonmono++;
		}
		if (s < 4)
			wk->last[s] = ts;
		if (!te)
			continue;
		eat = 0;
		while ((r = next_field(te, tlen, &eat, &g, &x, &sub)) > 0) {
			if (g == 9)
				type = x;
			else if (g == 11)
				uuid = x;
		}
		if (type == 1 || type == 2) {
			int *d = track_depth(wk, uuid);

			if (!d) {
				wk->bad++;
				continue;
			}
			if (type == 1) {
				wk->begins++;
				++*d;
			} else {
				wk->ends++;
				if (--*d < 0)
					wk->unbalanced++;
			}
		}
		wk->instants += type == 3;
		wk->counters += type == 4;
	}
	if (r < 0)
		wk->bad++;
	for (int i = 0; i < wk->ntracks; i++)
		wk->unbalanced += wk->depth[i] != 0;
}

static bool contains(const unsigned char *p, size_t n, const char *s)
{
	return memmem(p, n, s, strlen(s)) != NULL;
}

/* ---- exporter tests ---- */

static void test_golden(void)
{
	struct recording r;
	char path[128], err[256] = "";
	unsigned char *got, *want;
	size_t glen, wlen;
	const char *gp = golden_path();
	struct walk wk;

	mktmp();
	synthetic(&r);
	snprintf(path, sizeof(path), "%s/t.pftrace", tmpdir);
	CHECK(perfetto_write_recording(&r, path, err, sizeof(err)) == 0);
	CHECK(err[0] == '\0');
	CHECK(count_files() == 1);	/* no temp or spool file left */
	got = slurp(path, &glen);
	CHECK(got && glen > 0);

	walk_trace(got, glen, &wk);
	CHECK(!wk.bad);
	/* the events, and one slice per non-empty histogram */
	/* the events, one slice per non-empty histogram, one "blocking" slice */
	CHECK(wk.begins == NR_SYN_EVENTS + 10 && wk.ends == NR_SYN_EVENTS + 10);
	CHECK(!wk.unbalanced);
	CHECK(!wk.nonmono);
	CHECK(wk.nseq == 3);
	CHECK(wk.instants == 1);	/* the summary */
	CHECK(contains(got, glen, "clamped_to_parent"));
	CHECK(contains(got, glen, "anon_vma write \xc2\xb7 uffd_move"));
	CHECK(contains(got, glen, "mmlock recording: 9 events lost"));
	CHECK(contains(got, glen, "rwsem_down_write_slowpath+0x2a4"));
	CHECK(contains(got, glen, "lock_sleep_anon_vma_write"));
	CHECK(contains(got, glen, "histograms (whole recording)"));
	CHECK(contains(got, glen, "blocking ui: owner"));
	CHECK(contains(got, glen, "blocked_by"));

	if (getenv("MMLOCK_UPDATE_GOLDEN") && got) {
		FILE *f = fopen(gp, "wb");

		CHECK(f && fwrite(got, 1, glen, f) == glen);
		if (f)
			fclose(f);
		printf("  updated %s (%zu bytes)\n", gp, glen);
	}
	want = slurp(gp, &wlen);
	if (!want)
		printf("  cannot read %s: %s\n", gp, strerror(errno));
	CHECK(want && wlen == glen && !memcmp(got, want, glen));
	if (want && (wlen != glen || memcmp(got, want, glen)))
		printf("  %s differs (%zu vs %zu bytes); after checking the change, "
		       "regenerate with MMLOCK_UPDATE_GOLDEN=1\n", gp, wlen, glen);
	free(got);
	free(want);
	recording_free(&r);
	rmtmp();
}

/* Streaming: events in arrival order (a long wait after the D-state period
 * inside it, two threads interleaved) give the same bytes as the saved run. */
static void test_streaming(void)
{
	static const int order[NR_SYN_EVENTS] = { 2, 5, 1, 0, 4, 6, 9, 7, 3, 10, 8 };
	struct recording r, meta;
	struct pf_writer *w;
	char p1[128], p2[128], err[256] = "";
	unsigned char *a, *b;
	size_t alen, blen;

	mktmp();
	synthetic(&r);
	snprintf(p1, sizeof(p1), "%s/saved.pftrace", tmpdir);
	snprintf(p2, sizeof(p2), "%s/stream.pftrace", tmpdir);
	CHECK(perfetto_write_recording(&r, p1, err, sizeof(err)) == 0);

	/* At open the recorder knows clocks and settings, not threads. */
	meta = r;
	meta.threads = NULL;
	meta.nthreads = 0;
	meta.events = NULL;
	meta.nevents = 0;
	w = pf_open(p2, &meta, err, sizeof(err));
	CHECK(w != NULL);
	if (!w)
		goto out;
	for (int i = 0; i < NR_SYN_EVENTS; i++) {
		const struct rec_event *ev = &r.events[order[i]];

		/* comm from the event only: rec->threads must win at finish */
		CHECK(pf_event(w, ev, ev->tid == 1003 ? "HeapTaskDaemo" : "x", "") == 0);
	}
	CHECK(access(p2, F_OK) != 0);	/* nothing at the target until finish */
	CHECK(pf_finish(w, &r, err, sizeof(err)) == 0);
	a = slurp(p1, &alen);
	b = slurp(p2, &blen);
	CHECK(a && b && alen == blen && !memcmp(a, b, alen));
	free(a);
	free(b);
out:
	recording_free(&r);
	rmtmp();
}

/* Names from events only (no rec->threads): still tracks with names. */
static void test_names_from_events(void)
{
	struct recording r = { 0 };
	struct rec_event ev = { .ts_ns = T0, .dur_ns = MS, .pid = 42, .tid = 43,
				.kind = KIND_LOCK, .cls = CLASS_MMAP_WRITE,
				.site = SITE_MMAP };
	struct pf_writer *w;
	char path[128], err[256] = "";
	unsigned char *got;
	size_t len;
	struct walk wk;

	mktmp();
	snprintf(path, sizeof(path), "%s/n.pftrace", tmpdir);
	w = pf_open(path, &r, err, sizeof(err));
	CHECK(w && pf_event(w, &ev, "worker", "app") == 0);
	CHECK(w && pf_finish(w, &r, err, sizeof(err)) == 0);
	got = slurp(path, &len);
	CHECK(got && contains(got, len, "worker") && contains(got, len, "app"));
	CHECK(got && contains(got, len, "mmap_lock write \xc2\xb7 mmap"));
	if (got) {
		walk_trace(got, len, &wk);
		CHECK(!wk.bad && wk.begins == 1 && wk.ends == 1 && !wk.unbalanced);
	}
	free(got);
	rmtmp();
}

static void test_errors(void)
{
	struct recording r;
	struct pf_writer *w;
	char path[128], err[256] = "";

	synthetic(&r);
	w = pf_open("/nonexistent-mmlock-dir/t.pftrace", &r, err, sizeof(err));
	CHECK(w == NULL);
	CHECK(strstr(err, "/nonexistent-mmlock-dir/t.pftrace") && strstr(err, "No such file"));
	CHECK(perfetto_write_recording(&r, "/nonexistent-mmlock-dir/t.pftrace",
				       err, sizeof(err)) < 0);

	/* Abort: neither the trace nor a temp file remains. */
	mktmp();
	snprintf(path, sizeof(path), "%s/a.pftrace", tmpdir);
	w = pf_open(path, &r, err, sizeof(err));
	CHECK(w != NULL);
	if (w) {
		CHECK(pf_event(w, &r.events[0], "x", "y") == 0);
		pf_abort(w);
	}
	CHECK(count_files() == 0);
	recording_free(&r);
	rmtmp();
}

/* Random overlapping events on few threads (arbitrary, not nested): every
 * track still gets balanced slices and every sequence monotonic time. */
static void test_random_nesting(void)
{
	enum { N = 3000 };
	struct recording r = { 0 };
	struct pf_writer *w;
	char path[128], err[256] = "";
	unsigned char *got;
	size_t len;
	struct walk wk;
	__u64 x = 88172645463325252ULL;

	mktmp();
	snprintf(path, sizeof(path), "%s/r.pftrace", tmpdir);
	r.clk_boottime_ns = T0;
	r.start_ns = T0;
	w = pf_open(path, &r, err, sizeof(err));
	CHECK(w != NULL);
	if (!w)
		goto out;
	for (int i = 0; i < N; i++) {
		struct rec_event ev = { 0 };

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;	/* xorshift64 */
		ev.tid = 100 + x % 5;
		ev.pid = 100;
		ev.ts_ns = T0 + (x >> 8) % (100 * MS);
		ev.dur_ns = (x >> 40) % 4 == 0 ? 0 : (x >> 20) % (5 * MS);
		ev.kind = (x >> 50) % NR_KINDS;
		ev.cls = ev.kind == KIND_IOCTL ? UFFD_CMD_MOVE : (x >> 54) % NR_CLASSES;
		ev.site = (x >> 58) % NR_SITES;
		CHECK(pf_event(w, &ev, "t", "p") == 0);
	}
	CHECK(pf_finish(w, &r, err, sizeof(err)) == 0);
	got = slurp(path, &len);
	CHECK(got != NULL);
	if (got) {
		walk_trace(got, len, &wk);
		CHECK(!wk.bad && !wk.unbalanced && !wk.nonmono);
		CHECK(wk.begins == N && wk.ends == N);
		CHECK(contains(got, len, "clamped_to_parent"));
	}
	free(got);
out:
	rmtmp();
}

/* Flow ends found in a trace: per flow id, the track of its BEGIN-side and END-side event. */
struct flow_end {
	__u64 id, out_track, in_track;
	int nout, nin;
	bool in_on_end;		/* terminating id on a SLICE_END */
};

static struct flow_end *flow_get(struct flow_end *f, int *n, __u64 id)
{
	for (int i = 0; i < *n; i++)
		if (f[i].id == id)
			return &f[i];
	if (*n == 16)
		return NULL;
	memset(&f[*n], 0, sizeof(f[*n]));
	f[*n].id = id;
	return &f[(*n)++];
}

static void walk_flows(const unsigned char *p, size_t n, struct flow_end *f, int *nf)
{
	size_t at = 0;
	unsigned int fld, g, h;
	uint64_t v, x, y;
	const unsigned char *pkt, *te, *sub;
	int r;

	*nf = 0;
	while (next_field(p, n, &at, &fld, &v, &pkt) == 2) {
		size_t pat = 0;

		while ((r = next_field(pkt, v, &pat, &g, &x, &te)) > 0) {
			size_t eat = 0;
			uint64_t uuid = 0, type = 0, ids[8], tids[8];
			int nids = 0, ntids = 0;

			if (g != 11 || r != 2)
				continue;
			while ((r = next_field(te, x, &eat, &h, &y, &sub)) > 0) {
				if (h == 11)
					uuid = y;
				else if (h == 9)
					type = y;
				else if (h == 47 && nids < 8)
					ids[nids++] = y;
				else if (h == 48 && ntids < 8)
					tids[ntids++] = y;
			}
			for (int i = 0; i < nids; i++) {
				struct flow_end *e = flow_get(f, nf, ids[i]);

				if (e) {
					e->nout++;
					e->out_track = uuid;
					CHECK(type == 1);	/* on the blocker slice's BEGIN */
				}
			}
			for (int i = 0; i < ntids; i++) {
				struct flow_end *e = flow_get(f, nf, tids[i]);

				if (e) {
					e->nin++;
					e->in_track = uuid;
					e->in_on_end = type == 2;
				}
			}
		}
	}
}

/*
 * A 2-hop chain: ui waits [10, 30) ms on gc (owner); gc is in D-state
 * [12, 25) ms, woken by a kworker mmlock did not follow (pid 0). Flow 1:
 * gc's D-state slice -> ui's wait; flow 2: a "blocking" slice on the
 * kworker's own track (pid = tid) -> gc's D-state slice.
 */
static void test_chain_flows(void)
{
	struct recording r = { 0 };
	struct rec_thread *t;
	char path[128], err[256] = "";
	unsigned char *got;
	size_t len;
	struct flow_end f[16];
	int nf = 0;
	struct walk wk;

	mktmp();
	r.clk_boottime_ns = r.start_ns = T0;
	r.end_ns = T0 + 100 * MS;
	t = add_thread(&r, 100, 100, "ui", "app");
	add_hist(t, KIND_LOCK, CLASS_ANON_VMA_WRITE, SITE_UFFD_MOVE, 0, 1, 20 * MS);
	t = add_thread(&r, 101, 100, "gc", "app");
	add_hist(t, KIND_DSTATE, CLASS_ANON_VMA_READ, SITE_RMAP_WALK, 0, 1, 13 * MS);
	r.nevents = 2;
	r.events = calloc(2, sizeof(*r.events));
	r.events[0] = (struct rec_event){ .ts_ns = T0 + 10 * MS, .dur_ns = 20 * MS,
		.pid = 100, .tid = 100, .flags = LCB_F_WRITE, .other_tid = 101,
		.kind = KIND_LOCK, .cls = CLASS_ANON_VMA_WRITE, .site = SITE_UFFD_MOVE };
	r.events[1] = (struct rec_event){ .ts_ns = T0 + 12 * MS, .dur_ns = 13 * MS,
		.pid = 100, .tid = 101, .other_tid = 900, .kind = KIND_DSTATE,
		.cls = CLASS_ANON_VMA_READ, .site = SITE_RMAP_WALK };
	r.nchains = r.chains_cap = 1;
	r.chains = calloc(1, sizeof(*r.chains));
	r.chains[0] = (struct rec_chain){ .event = 0, .nhops = 2 };
	r.chains[0].hops[0] = (struct rec_hop){ .waiter = 0, .tid = 101, .pid = 100,
		.comm = "gc", .why = HOP_OWNER, .overlap_ns = 20 * MS };
	r.chains[0].hops[1] = (struct rec_hop){ .waiter = 1, .tid = 900, .comm = "kworker/0:1",
		.why = HOP_WAKER, .overlap_ns = 13 * MS };

	snprintf(path, sizeof(path), "%s/c.pftrace", tmpdir);
	CHECK(perfetto_write_recording(&r, path, err, sizeof(err)) == 0);
	got = slurp(path, &len);
	CHECK(got != NULL);
	if (!got)
		goto out;
	walk_trace(got, len, &wk);
	CHECK(!wk.bad && !wk.unbalanced && !wk.nonmono);
	CHECK(wk.begins == 2 + 2 + 1);	/* events, histograms, the kworker's blocking slice */
	walk_flows(got, len, f, &nf);
	CHECK(nf == 2);			/* one flow per hop */
	for (int i = 0; i < nf; i++) {
		CHECK(f[i].nout == 1 && f[i].nin == 1);	/* the ids pair up */
		CHECK(f[i].out_track != f[i].in_track);
		CHECK((f[i].out_track & 0xFFFFFFFFFFULL) != (f[i].in_track & 0xFFFFFFFFFFULL));
	}
	if (nf == 2) {
		/* in time order of the blocker's slice: gc's D-state, then the kworker's */
		CHECK(f[0].out_track == PF_UUID(PF_TRACK_THREAD, 101));
		CHECK(f[0].in_track == PF_UUID(PF_TRACK_THREAD, 100));
		CHECK(f[0].in_on_end);		/* gc's slice began after ui's */
		CHECK(f[1].out_track == PF_UUID(PF_TRACK_BLOCKING, 900));
		CHECK(f[1].in_track == PF_UUID(PF_TRACK_THREAD, 101));
		CHECK(f[0].id != f[1].id);
	}
	CHECK(contains(got, len, "blocking gc: waker"));
	CHECK(contains(got, len, "kworker/0:1"));	/* its thread track, named */
	CHECK(contains(got, len, "mmlock \xc2\xb7 blocking (pid unknown)"));
	CHECK(contains(got, len, "blocked_by"));
	free(got);
out:
	recording_free(&r);
	rmtmp();
}

static int write_synthetic(const char *path)
{
	struct recording r;
	char err[256] = "";
	int ret;

	synthetic(&r);
	ret = perfetto_write_recording(&r, path, err, sizeof(err));
	if (ret)
		fprintf(stderr, "test_perfetto: %s\n", err);
	recording_free(&r);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write"))
		return write_synthetic(argv[2]);
	RUN_TEST(test_varint);
	RUN_TEST(test_fields);
	RUN_TEST(test_nested);
	RUN_TEST(test_golden);
	RUN_TEST(test_streaming);
	RUN_TEST(test_names_from_events);
	RUN_TEST(test_errors);
	RUN_TEST(test_random_nesting);
	RUN_TEST(test_chain_flows);
	TEST_EXIT();
}
