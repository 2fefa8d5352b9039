// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for src/lib/json.c: writer -> parser round trips, errors, getters. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/json.h"
#include "check.h"

/* Parse a NUL-terminated string. */
static struct json_value *parse(const char *s, char *err, size_t errlen)
{
	return json_parse(s, strlen(s), err, errlen);
}

/* Writes a document with every kind of value through the writer. */
static void write_sample(struct json_writer *w)
{
	jw_obj_begin(w, NULL);
	jw_u64(w, "u64max", UINT64_MAX);
	jw_u64(w, "ts", 1718000000123456789ULL);
	jw_s64(w, "neg", -42);
	jw_s64(w, "s64min", INT64_MIN);
	jw_double(w, "pi", 3.141592653589793);
	jw_double(w, "tenth", 0.1);
	jw_double(w, "tiny", -1.5e-300);
	jw_double(w, "nan", 0.0 / 0.0);
	jw_str(w, "esc", "q\"b\\s/\n\t\x01");
	jw_str(w, "utf8", "caf\xc3\xa9 \xf0\x9f\x98\x80");
	jw_str(w, "bad", "a\xff" "b");
	jw_str(w, "nul", NULL);
	jw_bool(w, "yes", true);
	jw_bool(w, "no", false);
	jw_null(w, "nothing");
	jw_obj_begin(w, "empty_obj");
	jw_obj_end(w);
	jw_arr_begin(w, "empty_arr");
	jw_arr_end(w);
	jw_arr_begin(w, "list");
	jw_u64(w, NULL, 1);
	jw_obj_begin(w, NULL);
	jw_arr_begin(w, "inner");
	jw_s64(w, NULL, -1);
	jw_str(w, NULL, "x");
	jw_arr_end(w);
	jw_obj_end(w);
	jw_arr_begin(w, NULL);
	jw_arr_end(w);
	jw_arr_end(w);
	jw_obj_end(w);
}

static void check_sample(const struct json_value *v)
{
	const struct json_value *list, *inner;

	CHECK(json_type(v) == JSON_OBJECT);
	CHECK(json_len(v) == 18);
	CHECK(json_get_u64(v, "u64max", 0) == UINT64_MAX);
	CHECK(json_get_u64(v, "ts", 0) == 1718000000123456789ULL);
	CHECK(json_s64(json_get(v, "neg"), 0) == -42);
	CHECK(json_get_u64(v, "neg", 7) == 7);	/* negative: not a u64 */
	CHECK(json_s64(json_get(v, "s64min"), 0) == INT64_MIN);
	CHECK(json_double(json_get(v, "pi"), 0) == 3.141592653589793);
	CHECK(json_double(json_get(v, "tenth"), 0) == 0.1);
	CHECK(json_double(json_get(v, "tiny"), 0) == -1.5e-300);
	CHECK(json_type(json_get(v, "nan")) == JSON_NULL);
	CHECK(json_get(v, "nan") != NULL);
	CHECK(!strcmp(json_get_str(v, "esc", ""), "q\"b\\s/\n\t\x01"));
	CHECK(!strcmp(json_get_str(v, "utf8", ""), "caf\xc3\xa9 \xf0\x9f\x98\x80"));
	CHECK(!strcmp(json_get_str(v, "bad", ""), "a\xef\xbf\xbd" "b"));
	CHECK(json_type(json_get(v, "nul")) == JSON_NULL);
	CHECK(json_get_str(v, "nul", "def") != NULL);
	CHECK(!strcmp(json_get_str(v, "nul", "def"), "def"));
	CHECK(json_bool(json_get(v, "yes"), false) == true);
	CHECK(json_bool(json_get(v, "no"), true) == false);
	CHECK(json_type(json_get(v, "empty_obj")) == JSON_OBJECT);
	CHECK(json_len(json_get(v, "empty_obj")) == 0);
	CHECK(json_type(json_get(v, "empty_arr")) == JSON_ARRAY);
	CHECK(json_len(json_get(v, "empty_arr")) == 0);

	list = json_get(v, "list");
	CHECK(json_len(list) == 3);
	CHECK(json_u64(json_at(list, 0), 0) == 1);
	inner = json_get(json_at(list, 1), "inner");
	CHECK(json_len(inner) == 2);
	CHECK(json_s64(json_at(inner, 0), 0) == -1);
	CHECK(!strcmp(json_str(json_at(inner, 1), ""), "x"));
	CHECK(json_type(json_at(list, 2)) == JSON_ARRAY);
	CHECK(json_at(list, 3) == NULL);

	CHECK(!strcmp(json_key_at(v, 0), "u64max"));
	CHECK(json_u64(json_value_at(v, 0), 0) == UINT64_MAX);
	CHECK(json_key_at(v, 18) == NULL);
	CHECK(json_value_at(v, 18) == NULL);
}

static void round_trip(bool pretty)
{
	struct json_writer w;
	struct json_value *v;
	char *buf = NULL, err[128];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f != NULL);
	if (!f)
		return;
	jw_init(&w, f, pretty);
	write_sample(&w);
	CHECK(jw_finish(&w) == 0);
	fclose(f);

	v = json_parse(buf, len, err, sizeof(err));
	CHECK(v != NULL);
	if (!v)
		printf("  parse error: %s\n%s\n", err, buf);
	check_sample(v);
	if (pretty)
		CHECK(strstr(buf, "{\n \"u64max\": 18446744073709551615,\n") == buf);
	else
		CHECK(!strchr(buf, '\n') &&
		      strstr(buf, "{\"u64max\":18446744073709551615,") == buf);
	CHECK(strstr(buf, "\\u0001") && strstr(buf, "\\ufffd"));
	json_free(v);
	free(buf);
}

static void test_round_trip_pretty(void)
{
	round_trip(true);
}

static void test_round_trip_compact(void)
{
	round_trip(false);
}

static void test_writer_layout(void)
{
	struct json_writer w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	jw_init(&w, f, false);
	jw_obj_begin(&w, NULL);
	jw_arr_begin(&w, "a");
	jw_u64(&w, NULL, 1);
	jw_double(&w, NULL, 2.5);
	jw_arr_end(&w);
	jw_obj_begin(&w, "o");
	jw_obj_end(&w);
	jw_obj_end(&w);
	CHECK(jw_finish(&w) == 0);
	fclose(f);
	CHECK(!strcmp(buf, "{\"a\":[1,2.5],\"o\":{}}"));
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	jw_init(&w, f, true);
	jw_obj_begin(&w, NULL);
	jw_arr_begin(&w, "a");
	jw_u64(&w, NULL, 1);
	jw_arr_end(&w);
	jw_arr_begin(&w, "e");
	jw_arr_end(&w);
	jw_obj_end(&w);
	CHECK(jw_finish(&w) == 0);
	fclose(f);
	CHECK(!strcmp(buf, "{\n \"a\": [\n  1\n ],\n \"e\": []\n}\n"));
	free(buf);
}

static void test_writer_errors(void)
{
	struct json_writer w;
	FILE *f;
	int i;

	/* Unbalanced nesting. */
	f = fopen("/dev/null", "w");
	jw_init(&w, f, false);
	jw_obj_begin(&w, NULL);
	CHECK(jw_finish(&w) == -EIO);
	jw_init(&w, f, false);
	jw_arr_end(&w);
	CHECK(jw_finish(&w) == -EIO);

	/* Deeper than the limit. */
	jw_init(&w, f, false);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		jw_arr_begin(&w, NULL);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		jw_arr_end(&w);
	CHECK(jw_finish(&w) == 0);
	jw_init(&w, f, false);
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++)
		jw_arr_begin(&w, NULL);
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++)
		jw_arr_end(&w);
	CHECK(jw_finish(&w) == -EIO);
	fclose(f);

	/* Write errors are caught at the latest by the flush, and keep their errno. */
	f = fopen("/dev/full", "w");
	CHECK(f != NULL);
	if (f) {
		jw_init(&w, f, true);
		jw_str(&w, NULL, "hello");
		CHECK(jw_finish(&w) == -ENOSPC);
		fclose(f);
	}
}

static void test_unicode_escapes(void)
{
	struct json_value *v;
	char err[128];

	v = parse("[\"caf\\u00e9\", \"\\ud83d\\ude00\", \"\\u20AC\\/\", \"a\\u0000b\"]",
		  err, sizeof(err));
	CHECK(v != NULL);
	CHECK(!strcmp(json_str(json_at(v, 0), ""), "caf\xc3\xa9"));
	CHECK(!strcmp(json_str(json_at(v, 1), ""), "\xf0\x9f\x98\x80"));
	CHECK(!strcmp(json_str(json_at(v, 2), ""), "\xe2\x82\xac/"));
	CHECK(!strcmp(json_str(json_at(v, 3), ""), "a"));	/* stops at NUL */
	json_free(v);
}

/* The input must fail with err starting with want. */
static void expect_error(const char *text, size_t len, const char *want)
{
	struct json_value *v;
	char err[128] = "";

	v = json_parse(text, len, err, sizeof(err));
	CHECK(v == NULL);
	if (strncmp(err, want, strlen(want))) {
		printf("  input %.40s: got '%s', want '%s...'\n", text, err, want);
		CHECK(!"error message");
	}
	json_free(v);
}

#define EXPECT_ERROR(s, want) expect_error(s, strlen(s), want)

static void test_errors(void)
{
	char deep[200];
	int i;

	EXPECT_ERROR("", "line 1 col 1: empty input");
	EXPECT_ERROR(" \n ", "line 2 col 2: empty input");
	EXPECT_ERROR("[1, 2,]", "line 1 col 7: trailing comma in array");
	EXPECT_ERROR("{\n  \"a\": 1,\n}", "line 3 col 1: trailing comma in object");
	EXPECT_ERROR("{\"a\": \"abc", "line 1 col 7: unterminated string");
	EXPECT_ERROR("\"ab\\\"", "line 1 col 1: unterminated string");
	EXPECT_ERROR("[\"a\\x\"]", "line 1 col 4: invalid escape '\\x'");
	EXPECT_ERROR("\"\\u12G4\"", "line 1 col 2: invalid \\u escape");
	EXPECT_ERROR("\"\\ud83d\"", "line 1 col 2: unpaired surrogate");
	EXPECT_ERROR("\"\\ude00\"", "line 1 col 2: unpaired surrogate");
	EXPECT_ERROR("\"a\nb\"", "line 1 col 3: control character");
	EXPECT_ERROR("\"\xc3\xa9\xff\"", "line 1 col 3: invalid UTF-8");
	EXPECT_ERROR("\"\xc0\xaf\"", "line 1 col 2: invalid UTF-8");	/* overlong */
	EXPECT_ERROR("{} x", "line 1 col 4: expected end of input after the value, got 'x'");
	EXPECT_ERROR("1 2", "line 1 col 3: expected end of input");
	EXPECT_ERROR("[1 2]", "line 1 col 4: expected ',' or ']', got '2'");
	EXPECT_ERROR("{\"a\" 1}", "line 1 col 6: expected ':' after key");
	EXPECT_ERROR("{1: 2}", "line 1 col 2: expected a string key");
	EXPECT_ERROR("[1,", "line 1 col 4: expected a value, got end of input");
	EXPECT_ERROR("tru", "line 1 col 1: invalid literal");
	EXPECT_ERROR("nul", "line 1 col 1: invalid literal");
	EXPECT_ERROR("01", "line 1 col 1: invalid number: leading zero");
	EXPECT_ERROR("-", "line 1 col 2: invalid number");
	EXPECT_ERROR("1.", "line 1 col 3: invalid number");
	EXPECT_ERROR("1e+", "line 1 col 4: invalid number");
	EXPECT_ERROR("+1", "line 1 col 1: expected a value, got '+'");
	EXPECT_ERROR("NaN", "line 1 col 1: expected a value");
	EXPECT_ERROR("[\"\xc3\xa9\", x]", "line 1 col 7: expected a value");
	/* Not NUL-terminated: the length is honoured. */
	expect_error("[1]]", 2, "line 1 col 3: expected ',' or ']', got end");

	/* 64 levels are fine, 65 are not. */
	for (i = 0; i < 65; i++) {
		deep[i] = '[';
		deep[130 - i - 1] = ']';
	}
	deep[130] = '\0';
	EXPECT_ERROR(deep, "line 1 col 65: nesting deeper than 64");
	{
		struct json_value *v = json_parse(deep + 1, 128, NULL, 0);

		CHECK(v != NULL);
		json_free(v);
	}
}

static void test_numbers(void)
{
	struct json_value *v;
	char err[128];

	v = parse("[18446744073709551615, 18446744073709551616, -9223372036854775808,"
		  " -9223372036854775809, 0, -0, 1e3, 1.5, -2.5e-3, 1E400,"
		  " 9223372036854775807, 1718000000123456789, 123456789012345678901234]",
		  err, sizeof(err));
	CHECK(v != NULL);
	if (!v)
		return;
	CHECK(json_u64(json_at(v, 0), 0) == UINT64_MAX);
	CHECK(json_s64(json_at(v, 0), 5) == 5);
	CHECK(json_u64(json_at(v, 1), 5) == 5);		/* 2^64: too big */
	CHECK(json_double(json_at(v, 1), 0) == 18446744073709551616.0);
	CHECK(json_s64(json_at(v, 2), 0) == INT64_MIN);
	CHECK(json_u64(json_at(v, 2), 5) == 5);
	CHECK(json_s64(json_at(v, 3), 5) == 5);		/* inexact: default */
	CHECK(json_u64(json_at(v, 4), 5) == 0);
	CHECK(json_s64(json_at(v, 5), 5) == 0);
	CHECK(json_u64(json_at(v, 6), 5) == 1000);
	CHECK(json_s64(json_at(v, 6), 5) == 1000);
	CHECK(json_u64(json_at(v, 7), 5) == 5);		/* not an integer */
	CHECK(json_double(json_at(v, 7), 0) == 1.5);
	CHECK(json_double(json_at(v, 8), 0) == -2.5e-3);
	CHECK(json_s64(json_at(v, 8), 5) == 5);
	CHECK(json_double(json_at(v, 9), 0) > 1e308);	/* inf */
	CHECK(json_u64(json_at(v, 9), 5) == 5);
	CHECK(json_s64(json_at(v, 10), 0) == INT64_MAX);
	CHECK(json_u64(json_at(v, 10), 0) == INT64_MAX);
	CHECK(json_u64(json_at(v, 11), 0) == 1718000000123456789ULL);
	CHECK(json_double(json_at(v, 12), 0) > 1.2e23);
	CHECK(json_u64(json_at(v, 12), 5) == 5);
	json_free(v);
}

static void test_getters(void)
{
	struct json_value *v;
	const struct json_value *o;
	char err[128];

	v = parse("{\"n\": 7, \"s\": \"str\", \"b\": true, \"z\": null, "
		  "\"o\": {\"k\": 1}, \"dup\": 1, \"dup\": 2}", err, sizeof(err));
	CHECK(v != NULL);
	CHECK(json_get_u64(v, "n", 0) == 7);
	CHECK(json_get_u64(v, "missing", 99) == 99);
	CHECK(json_get_u64(v, "s", 99) == 99);
	CHECK(!strcmp(json_get_str(v, "s", "d"), "str"));
	CHECK(!strcmp(json_get_str(v, "n", "d"), "d"));
	CHECK(!strcmp(json_get_str(v, "missing", "d"), "d"));
	CHECK(json_get_str(v, "missing", NULL) == NULL);
	CHECK(json_bool(json_get(v, "b"), false) == true);
	CHECK(json_bool(json_get(v, "n"), false) == false);
	CHECK(json_double(json_get(v, "s"), 1.5) == 1.5);
	CHECK(json_double(json_get(v, "n"), 1.5) == 7.0);
	CHECK(json_s64(json_get(v, "z"), -3) == -3);
	CHECK(json_get_u64(v, "dup", 0) == 2);		/* last one wins */
	o = json_get(v, "o");
	CHECK(json_get_u64(o, "k", 0) == 1);
	CHECK(json_get_u64(json_get(o, "nope"), "k", 4) == 4);

	/* NULL and wrong-type containers. */
	CHECK(json_type(NULL) == JSON_NULL);
	CHECK(json_get(NULL, "n") == NULL);
	CHECK(json_get(json_get(v, "n"), "n") == NULL);
	CHECK(json_len(NULL) == 0);
	CHECK(json_len(json_get(v, "s")) == 0);
	CHECK(json_len(v) == 7);
	CHECK(json_at(v, 0) == NULL);
	CHECK(json_key_at(NULL, 0) == NULL);
	CHECK(json_value_at(json_get(v, "n"), 0) == NULL);
	CHECK(json_u64(NULL, 11) == 11);
	CHECK(json_str(NULL, "x")[0] == 'x');
	json_free(v);
	json_free(NULL);
}

static void test_parse_file(void)
{
	char path[] = "/tmp/test_json.XXXXXX", err[256];
	const char *doc = "\xef\xbb\xbf{\"a\": [1, 2]}\n";
	struct json_value *v;
	int fd;

	v = json_parse_file("/nonexistent/x.json", err, sizeof(err));
	CHECK(v == NULL);
	CHECK(!strcmp(err, "/nonexistent/x.json: No such file or directory"));

	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc));
	v = json_parse_file(path, err, sizeof(err));
	CHECK(v != NULL);
	CHECK(json_u64(json_at(json_get(v, "a"), 1), 0) == 2);
	json_free(v);

	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, "{\n\"a\" 1}", 8, 0) == 8);
	v = json_parse_file(path, err, sizeof(err));
	CHECK(v == NULL);
	CHECK(strstr(err, ": line 2 col 5: expected ':'") != NULL);
	CHECK(!strncmp(err, path, strlen(path)));
	close(fd);
	unlink(path);

	v = json_parse_file("/tmp", err, sizeof(err));
	CHECK(v == NULL);
	CHECK(!strcmp(err, "/tmp: Is a directory"));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A ~10 MB recording-like document: parse time and content. */
static void test_big_document(void)
{
	struct json_writer w;
	struct json_value *v;
	const struct json_value *ev;
	char *buf = NULL, err[128], comm[32];
	size_t len = 0, i, n = 60000;
	FILE *f = open_memstream(&buf, &len);
	double t;

	jw_init(&w, f, true);
	jw_obj_begin(&w, NULL);
	jw_arr_begin(&w, "events");
	for (i = 0; i < n; i++) {
		snprintf(comm, sizeof(comm), "thread-%zu \xc3\xa9", i);
		jw_obj_begin(&w, NULL);
		jw_u64(&w, "ts_ns", 1718000000000000000ULL + i * 1000003);
		jw_u64(&w, "dur_ns", i * 7);
		jw_u64(&w, "tid", i);
		jw_s64(&w, "ret", -(__s64)(i % 5));
		jw_double(&w, "ratio", i / 3.0);
		jw_str(&w, "comm", comm);
		jw_arr_begin(&w, "frames");
		jw_str(&w, NULL, "down_read+0x1c");
		jw_str(&w, NULL, "do_user_addr_fault+0x1a0");
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	CHECK(jw_finish(&w) == 0);
	fclose(f);
	CHECK(len >= 10 * 1000 * 1000);

	t = now();
	v = json_parse(buf, len, err, sizeof(err));
	t = now() - t;
	printf("  parsed %zu bytes in %.3f s\n", len, t);
	CHECK(v != NULL);
	CHECK(t < 10.0);	/* generous: valgrind, emulated arm64 */
	ev = json_get(v, "events");
	CHECK(json_len(ev) == n);
	ev = json_at(ev, n - 1);
	CHECK(json_get_u64(ev, "ts_ns", 0) == 1718000000000000000ULL + (n - 1) * 1000003);
	CHECK(json_double(json_get(ev, "ratio"), 0) == (n - 1) / 3.0);
	CHECK(json_s64(json_get(ev, "ret"), 0) == -(__s64)((n - 1) % 5));
	snprintf(comm, sizeof(comm), "thread-%zu \xc3\xa9", n - 1);
	CHECK(!strcmp(json_get_str(ev, "comm", ""), comm));
	json_free(v);
	free(buf);
}

int main(void)
{
	RUN_TEST(test_round_trip_pretty);
	RUN_TEST(test_round_trip_compact);
	RUN_TEST(test_writer_layout);
	RUN_TEST(test_writer_errors);
	RUN_TEST(test_unicode_escapes);
	RUN_TEST(test_errors);
	RUN_TEST(test_numbers);
	RUN_TEST(test_getters);
	RUN_TEST(test_parse_file);
	RUN_TEST(test_big_document);
	TEST_EXIT();
}
