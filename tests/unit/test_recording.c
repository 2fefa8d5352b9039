// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The recording's JSON round trip and the reader's strictness (src/output/recording_json.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "model/recording.h"
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

int main(void)
{
	RUN_TEST(test_uffd_names);
	RUN_TEST(test_round_trip);
	RUN_TEST(test_strict);
	TEST_EXIT();
}
