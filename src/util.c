// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "util.h"

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

int atomic_open(struct atomic_file *af, const char *path, char *err, size_t errlen)
{
	int fd;

	memset(af, 0, sizeof(*af));
	af->path = strdup(path);
	if (!af->path || asprintf(&af->tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		free(af->path);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
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
	free(af->tmp);
	free(af->path);
	memset(af, 0, sizeof(*af));
}

int check_writable(const char *path, char *err, size_t errlen)
{
	char *copy = strdup(path), *dir;
	struct stat st;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK)) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	} else if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(EISDIR));
	} else if (!access(path, F_OK) && access(path, W_OK)) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	}
	free(copy);
	return ret;
}
