// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/util.h"

int verbose;

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("mmlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void vnote(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	fputs("mmlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

long long parse_duration_ns(const char *s, const char *default_unit)
{
	static const struct { const char *unit; double mult; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 },
	};
	const char *unit;
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || v != v)
		return -1;
	unit = *end ? end : default_unit;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(unit, units[i].unit)) {
			v *= units[i].mult;
			return v > 9e18 ? -1 : (long long)(v + 0.5);
		}
	}
	return -1;
}

long long parse_uint(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	return v;
}

const char *fmt_ns(__u64 ns, char *buf, size_t len)
{
	if (ns >= 1000000000ULL)
		snprintf(buf, len, "%.2f s", ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else if (ns >= 1000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	return buf;
}

__u64 now_ns(int clock_id)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * An output may only replace a regular file: renaming over a device node
 * (-o /dev/null as root) or a symbolic link would replace the node or the
 * link, not write to what it names.
 */
static int check_target(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (!*path) {
		snprintf(err, errlen, "empty output file name");
		return -EINVAL;
	}
	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	if (S_ISREG(st.st_mode))
		return 0;
	snprintf(err, errlen, "cannot write %s: %s", path,
		 S_ISDIR(st.st_mode) ? strerror(EISDIR) :
		 S_ISLNK(st.st_mode) ? "is a symbolic link (give the file it points to)" :
		 "not a regular file");
	return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

/*
 * Temp files being written, for atomic_unlink_all() in a signal handler that
 * is about to _exit (a second Ctrl-C while the outputs are written). Room
 * for every output open at once: record's two, export's four tables.
 */
static char *volatile live_tmp[8];

static void track_tmp(char *tmp, bool add)
{
	for (size_t i = 0; i < sizeof(live_tmp) / sizeof(live_tmp[0]); i++)
		if (live_tmp[i] == (add ? NULL : tmp)) {
			live_tmp[i] = add ? tmp : NULL;
			return;
		}
}

void atomic_unlink_all(void)
{
	for (size_t i = 0; i < sizeof(live_tmp) / sizeof(live_tmp[0]); i++)
		if (live_tmp[i])
			unlink(live_tmp[i]);
}

/* A new file "path.tmp.PID.XXXXXX": unique per output, even for two outputs of one run. */
static int open_tmp(const char *path, char **tmp)
{
	mode_t mask = umask(0);
	int fd;

	umask(mask);
	if (asprintf(tmp, "%s.tmp.%d.XXXXXX", path, (int)getpid()) < 0) {
		*tmp = NULL;
		errno = ENOMEM;
		return -1;
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd >= 0 && fchmod(fd, 0644 & ~mask)) {
		int e = errno;

		close(fd);
		unlink(*tmp);
		errno = e;
		fd = -1;
	}
	return fd;
}

int grow_array(void *p, size_t *cap, size_t need, size_t elem)
{
	void **arr = p;
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (elem && n > SIZE_MAX / elem)
		return -ENOMEM;
	q = realloc(*arr, n * elem);
	if (!q)
		return -ENOMEM;
	*arr = q;
	*cap = n;
	return 0;
}

void sort_array(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/*
 * qsort_r is not in every libc mmlock is built with (static arm64, Android):
 * the context goes through a thread-local instead, in this one place.
 */
static __thread struct {
	int (*cmp)(const void *, const void *, const void *);
	const void *ctx;
} sort_ctx;

static int cmp_with_ctx(const void *a, const void *b)
{
	return sort_ctx.cmp(a, b, sort_ctx.ctx);
}

void sort_array_ctx(void *base, size_t n, size_t size,
		    int (*cmp)(const void *, const void *, const void *ctx), const void *ctx)
{
	sort_ctx.cmp = cmp;
	sort_ctx.ctx = ctx;
	sort_array(base, n, size, cmp_with_ctx);
}

size_t first_not_below(size_t n, const void *ctx, bool (*below)(const void *ctx, size_t i))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (below(ctx, m))
			lo = m + 1;
		else
			hi = m;
	}
	return lo;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append a copy of path to the list. */
static int push_path(struct path_list *l, const char *path)
{
	char *p;

	if (grow_array(&l->paths, &l->cap, l->n + 1, sizeof(*l->paths)))
		return -ENOMEM;
	if (!(p = strdup(path)))
		return -ENOMEM;
	l->paths[l->n++] = p;
	return 0;
}

/* The regular files named *suffix in dir, sorted; one list entry each. */
static int push_dir(struct path_list *l, const char *dir, const char *suffix, char *err,
		    size_t errlen)
{
	size_t first = l->n, slen = strlen(suffix);
	DIR *dp = opendir(dir);
	struct dirent *e;
	int ret = 0;

	if (!dp) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-ret));
		return ret;
	}
	while (!ret && (e = readdir(dp))) {
		size_t len = strlen(e->d_name);
		struct stat st;
		char *p;

		if (e->d_name[0] == '.' || len <= slen || strcmp(e->d_name + len - slen, suffix))
			continue;
		/* Skip what is not a regular file (a subdirectory named x.json...). */
		if (asprintf(&p, "%s/%s", dir, e->d_name) < 0) {
			ret = -ENOMEM;
			break;
		}
		if (!stat(p, &st) && S_ISREG(st.st_mode))
			ret = push_path(l, p);
		free(p);
	}
	closedir(dp);
	if (ret) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-ret));
		return ret;
	}
	if (l->n == first) {
		snprintf(err, errlen, "%s: no files named *%s in this directory", dir, suffix);
		return -ENOENT;
	}
	sort_array(l->paths + first, l->n - first, sizeof(*l->paths), cmp_str);
	return 0;
}

int path_list_add(struct path_list *l, const char *arg, const char *suffix, char *err,
		  size_t errlen)
{
	struct stat st;
	int ret;

	if (stat(arg, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", arg, strerror(-ret));
		return ret;
	}
	if (S_ISDIR(st.st_mode))
		return push_dir(l, arg, suffix, err, errlen);
	ret = push_path(l, arg);
	if (ret)
		snprintf(err, errlen, "%s: %s", arg, strerror(-ret));
	return ret;
}

void path_list_free(struct path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	memset(l, 0, sizeof(*l));
}

bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int atomic_open(struct atomic_file *af, const char *path, char *err, size_t errlen)
{
	int fd, ret;

	memset(af, 0, sizeof(*af));
	ret = check_target(path, err, errlen);
	if (ret)
		return ret;
	af->path = strdup(path);
	if (!af->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	fd = open_tmp(path, &af->tmp);
	if (fd < 0 || !(af->f = fdopen(fd, "w"))) {
		int e = errno;

		snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
		if (fd >= 0) {
			close(fd);
			unlink(af->tmp);
		}
		free(af->tmp);
		free(af->path);
		memset(af, 0, sizeof(*af));
		return -e;
	}
	track_tmp(af->tmp, true);
	return 0;
}

static void fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int atomic_close(struct atomic_file *af, char *err, size_t errlen)
{
	int ret = 0;

	if (!af->f)
		return -EINVAL;
	if (fflush(af->f) || ferror(af->f) || fsync(fileno(af->f))) {
		ret = -(errno ?: EIO);
		snprintf(err, errlen, "cannot write %s: %s", af->path, strerror(-ret));
	}
	if (fclose(af->f) && !ret) {
		ret = -(errno ?: EIO);
		snprintf(err, errlen, "cannot write %s: %s", af->path, strerror(-ret));
	}
	af->f = NULL;
	if (!ret && rename(af->tmp, af->path)) {
		ret = -errno;
		snprintf(err, errlen, "cannot rename %s: %s", af->tmp, strerror(-ret));
	}
	if (!ret)
		fsync_dir(af->path);	/* the rename itself survives a crash */
	if (ret)
		unlink(af->tmp);
	track_tmp(af->tmp, false);
	free(af->tmp);
	free(af->path);
	memset(af, 0, sizeof(*af));
	return ret;
}

void atomic_abort(struct atomic_file *af)
{
	if (af->f) {
		fclose(af->f);
		unlink(af->tmp);
	}
	if (af->tmp)
		track_tmp(af->tmp, false);
	free(af->tmp);
	free(af->path);
	memset(af, 0, sizeof(*af));
}

int check_writable(const char *path, char *err, size_t errlen)
{
	char *tmp = NULL;
	int fd, ret;

	ret = check_target(path, err, errlen);
	if (ret)
		return ret;
	/* Create (and remove) a file next to it: access() says yes to root on a read-only mount. */
	fd = open_tmp(path, &tmp);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-ret));
	} else {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	return ret;
}

bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	char *da, *db, *ra = NULL, *rb = NULL;
	bool same;

	if (!stat(a, &sa) && !stat(b, &sb))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	/* Not both there yet: the same directory and the same name. */
	da = strdup(a);
	db = strdup(b);
	if (da && db) {
		ra = realpath(dirname(da), NULL);
		rb = realpath(dirname(db), NULL);
	}
	same = !strcmp(a, b) ||
	       (ra && rb && !strcmp(ra, rb) && !strcmp(strrchr(a, '/') ? strrchr(a, '/') + 1 : a,
						       strrchr(b, '/') ? strrchr(b, '/') + 1 : b));
	free(ra);
	free(rb);
	free(da);
	free(db);
	return same;
}
