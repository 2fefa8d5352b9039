/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What to trace: an existing pid/tid/comm, or a command mmlock starts. */
#ifndef MMLOCK_TARGET_H
#define MMLOCK_TARGET_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

/* 0 if the pid / tid / comm exists now, else -ESRCH with a message. */
int target_check_pid(__u32 pid, char *err, size_t errlen);
int target_check_tid(__u32 tid, char *err, size_t errlen);
int target_check_comm(const char *comm, char *err, size_t errlen);
/* Does a thread, or a process, of this name run now? (a scan of /proc) */
bool target_comm_running(const char *comm);

/* A command started held: it execs only after target_release(). */
struct target_child {
	pid_t pid;
	int gate;	/* write end of the pipe the child waits on */
	int status;	/* wait status once reaped */
	bool reaped;
};
int target_spawn(struct target_child *c, char *const argv[], char *err, size_t errlen);
void target_release(struct target_child *c);
/* Non-blocking: true once the child has exited (status kept). */
bool target_exited(struct target_child *c);
/* Kill (SIGTERM) and reap a child that is still running. */
void target_stop(struct target_child *c);

/* Current name of a thread from /proc, false if it is gone. */
bool thread_comm(__u32 pid, __u32 tid, char *buf, size_t len);

#endif
