/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Minimal unit-test helpers: prints the PASS/FAIL lines tests/run.sh counts. */
#ifndef MMLOCK_TEST_CHECK_H
#define MMLOCK_TEST_CHECK_H
#include <stdio.h>

static int check_failed;	/* failures in the current test */
static int checks_total_failed;	/* failures in the whole program */

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stdout, "  check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
		check_failed++; \
	} \
} while (0)

/* Run one test function and print its verdict. */
#define RUN_TEST(fn) do { \
	check_failed = 0; \
	fn(); \
	if (check_failed) { \
		printf("FAIL: %s: %d check(s) failed\n", #fn, check_failed); \
		checks_total_failed++; \
	} else { \
		printf("PASS: %s\n", #fn); \
	} \
} while (0)

#define TEST_EXIT() return checks_total_failed ? 1 : 0
#endif
