/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small helpers: exit codes, errors, parsing, atomic file output, clocks. */
#ifndef MMLOCK_UTIL_H
#define MMLOCK_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

/* Exit codes (documented in README and mmlock.8). */
enum {
	EXIT_OK = 0,
	EXIT_CHECK_FAILED = 1,	/* a stall >= threshold (check), or regression (diff) */
	EXIT_USAGE = 2,		/* bad option or input file */
	EXIT_KERNEL = 3,	/* kernel/permission problem: BPF, BTF, tracefs */
};

extern int verbose;

/* Print "mmlock: <msg>" on stderr. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vnote(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* only with -v */

/* "10", "1.5s", "500ms", "250us", "100ns", "2m" -> ns; -1 on error. */
long long parse_duration_ns(const char *s, const char *default_unit);
/* Whole number in [min, max]; -1 on error. */
long long parse_uint(const char *s, long long min, long long max);
/* "1.25 ms" style, into buf. */
const char *fmt_ns(__u64 ns, char *buf, size_t len);
/* fmt_ns into a temporary: NS(v) is valid until the end of the full expression. */
#define NS(v) fmt_ns((v), (char[24]){}, 24)

__u64 now_ns(int clock_id);

/*
 * Room for `need` elements of `elem` bytes in the array *p of capacity *cap
 * (elements): the capacity doubles (from 16), so n appends cost O(n). 0, or
 * -ENOMEM with *p and *cap unchanged (still valid, still the caller's to free).
 * The one growth helper: use it, not realloc, for an array that grows.
 */
int grow_array(void *p, size_t *cap, size_t need, size_t elem);

/* qsort() that takes an empty array as (NULL, 0): qsort(NULL, 0, ...) is undefined. */
void sort_array(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* The same with a context for cmp (an index array sorted by what it points into). */
void sort_array_ctx(void *base, size_t n, size_t size,
		    int (*cmp)(const void *, const void *, const void *ctx), const void *ctx);
/*
 * Binary search of a sorted sequence: the first index i in [0, n) for which
 * below(ctx, i) is false (n if none), below being true for a prefix only.
 */
size_t first_not_below(size_t n, const void *ctx, bool (*below)(const void *ctx, size_t i));

/*
 * The files named on a command line, for commands that take sets of them:
 * path_list_add() appends a file as given, or a directory's regular files
 * named *suffix (sorted by name; none is an error). 0, or -errno with
 * "PATH: why" in err.
 */
struct path_list {
	char **paths;
	size_t n, cap;
};
int path_list_add(struct path_list *l, const char *arg, const char *suffix, char *err,
		  size_t errlen);
void path_list_free(struct path_list *l);
bool is_dir(const char *path);

/*
 * Atomic output: open "path.tmp.PID.XXXXXX" for writing; atomic_close()
 * flushes, fsyncs and renames it over path, or unlinks it on error / abort.
 * path must be absent or a regular file (not a device, directory or symlink).
 */
struct atomic_file {
	FILE *f;
	char *path;
	char *tmp;
};
int atomic_open(struct atomic_file *af, const char *path, char *err, size_t errlen);
int atomic_close(struct atomic_file *af, char *err, size_t errlen);
void atomic_abort(struct atomic_file *af);
/* Unlink every temp file still open: async-signal-safe, for a handler that _exits. */
void atomic_unlink_all(void);
/* Can a file be created at path? (checked before a long recording: creates
 * and removes a temp file next to it) */
int check_writable(const char *path, char *err, size_t errlen);
/* Do a and b name the same file (same inode, or same directory and name)? */
bool same_file(const char *a, const char *b);

#endif
