// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "record/target.h"

/* /proc/ID resolves for any process or thread id, listed or not. */
static int target_check(__u32 id, const char *what, char *err, size_t errlen)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/status", id);
	if (access(path, F_OK)) {
		snprintf(err, errlen, "no %s %u", what, id);
		return -ESRCH;
	}
	return 0;
}

int target_check_pid(__u32 pid, char *err, size_t errlen)
{
	return target_check(pid, "process with pid", err, errlen);
}

int target_check_tid(__u32 tid, char *err, size_t errlen)
{
	return target_check(tid, "thread with tid", err, errlen);
}

static bool read_comm(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}

bool thread_comm(__u32 pid, __u32 tid, char *buf, size_t len)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	return read_comm(path, buf, len);
}

/* Does any thread of the process in /proc/<dir> have this comm? */
static bool proc_has_comm(const char *dir, const char *comm)
{
	char path[300], name[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/task", dir);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/comm", dir, de->d_name);
		found = read_comm(path, name, sizeof(name)) && !strcmp(name, comm);
	}
	closedir(d);
	return found;
}

bool target_comm_running(const char *comm)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir("/proc");

	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			found = proc_has_comm(de->d_name, comm);
	closedir(d);
	return found;
}

int target_check_comm(const char *comm, char *err, size_t errlen)
{
	if (!target_comm_running(comm)) {
		snprintf(err, errlen, "no process or thread named '%s' is running yet", comm);
		return -ESRCH;
	}
	return 0;
}

/*
 * In the child, before it runs anything: mmlock's handlers would swallow a
 * signal sent to it before exec, so they go back to the default (ignored
 * signals stay ignored, as a shell leaves them); and it dies with mmlock
 * instead of running on unwatched after a SIGKILL of mmlock.
 */
static void child_init(pid_t parent, const sigset_t *mask)
{
	struct sigaction sa;

	for (int sig = 1; sig < NSIG; sig++)
		if (!sigaction(sig, NULL, &sa) && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(sig, &sa, NULL);
		}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);	/* mmlock died before the death signal was armed */
	sigprocmask(SIG_SETMASK, mask, NULL);
}

int target_spawn(struct target_child *c, char *const argv[], char *err, size_t errlen)
{
	pid_t parent = getpid();
	sigset_t all, mask;
	int gate[2], e;

	memset(c, 0, sizeof(*c));
	/* The child waits on the gate until tracing is attached. */
	if (pipe2(gate, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	/* Blocked across fork: no signal runs mmlock's handler in the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &mask);
	c->pid = fork();
	if (!c->pid) {
		char go;

		child_init(parent, &mask);
		close(gate[1]);
		if (read(gate[0], &go, 1) != 1)
			_exit(127);	/* mmlock gave up before starting us */
		execvp(argv[0], argv);
		fprintf(stderr, "mmlock: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (c->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(e));
		close(gate[0]);
		close(gate[1]);
		return -e;
	}
	close(gate[0]);
	c->gate = gate[1];
	return 0;
}

void target_release(struct target_child *c)
{
	if (c->gate > 0) {
		if (write(c->gate, "g", 1) != 1)
			perror("mmlock: start command");
		close(c->gate);
		c->gate = -1;
	}
}

bool target_exited(struct target_child *c)
{
	if (c->reaped)
		return true;
	if (c->pid > 0 && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = true;
	return c->reaped;
}

void target_stop(struct target_child *c)
{
	if (c->gate > 0) {
		close(c->gate);	/* an unreleased child exits on EOF */
		c->gate = -1;
	}
	if (c->pid > 0 && !c->reaped) {
		kill(c->pid, SIGTERM);
		if (waitpid(c->pid, &c->status, 0) == c->pid)
			c->reaped = true;
	}
}
