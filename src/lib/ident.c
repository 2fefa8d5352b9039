// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/wait.h>
#include "lib/ident.h"

int uuid_random(char out[37])
{
	unsigned char b[16];
	ssize_t n = getrandom(b, sizeof(b), 0);

	if (n != (ssize_t)sizeof(b))
		return n < 0 ? -errno : -EIO;
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4: random */
	b[8] = (b[8] & 0x3f) | 0x80;	/* variant 1 (RFC 9562) */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
	return 0;
}

/* Cut at the first control character (a trailing newline); "" stays "". */
static void trim(char *s)
{
	while (*s && (unsigned char)*s >= 0x20 && *s != 0x7f)
		s++;
	*s = 0;
}

/*
 * `getprop NAME` without a shell: a static build on Android has no /bin/sh
 * for popen(). Empty if getprop is missing, fails or says nothing.
 */
static void android_prop(const char *name, char *buf, size_t len)
{
	static const char getprop[] = "/system/bin/getprop";
	int fd[2], st = 0;
	ssize_t n, got = 0;
	pid_t pid;

	buf[0] = 0;
	if (access(getprop, X_OK) || pipe2(fd, O_CLOEXEC))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		execl(getprop, "getprop", name, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while (pid > 0 && (size_t)got < len - 1 &&
	       ((n = read(fd[0], buf + got, len - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? n : 0;
	close(fd[0]);
	buf[got] = 0;
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		buf[0] = 0;
	trim(buf);
}

static void read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
	trim(buf);
}

void device_id_default(char *buf, size_t len)
{
	char v[96];

	android_prop("ro.serialno", v, sizeof(v));
	if (v[0]) {
		snprintf(buf, len, "android:%s", v);
		return;
	}
	read_first_line("/etc/machine-id", v, sizeof(v));
	if (v[0]) {
		snprintf(buf, len, "machine-id:%s", v);
		return;
	}
	if (gethostname(v, sizeof(v)) || !v[0])
		snprintf(v, sizeof(v), "unknown");
	v[sizeof(v) - 1] = 0;
	trim(v);
	snprintf(buf, len, "host:%s", v);
}
