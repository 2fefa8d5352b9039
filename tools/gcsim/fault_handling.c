// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Faults on to-space pages that are not mapped yet.
 * SIGBUS mode (UFFD_FEATURE_SIGBUS, as ART): the faulting thread claims
 * the page and maps it itself in the signal handler, or backs off until
 * its owner has mapped it. Otherwise MISSING faults are read from the
 * userfaultfd by the "uffd-handler" thread, which does the same.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "gcsim.h"
#include "uffd_compat.h"

atomic_int handler_stop;

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	struct worker *w = self;
	int saved = errno;
	size_t idx;

	(void)uctx;
	if (!w || !space.sigbus || !space_in_to(si->si_addr, &idx)) {
		/* A real bus error: die of it when the access is retried. */
		signal(sig, SIG_DFL);
		return;
	}
	atomic_fetch_add(&w->faults, 1);
	map_claimed_or_wait(w, idx);
	errno = saved;
}

int sigbus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL);
}

static void wake_page(struct worker *w, const void *addr)
{
	struct uffdio_range r = {
		.start = (uintptr_t)addr & ~(uintptr_t)(space.page_size - 1),
		.len = space.page_size,
	};

	uffd_ioctl_timed(w, IOC_WAKE, UFFDIO_WAKE, &r);
}

static void handle_fault(struct worker *w, const struct uffd_msg *m)
{
	void *addr = (void *)(uintptr_t)m->arg.pagefault.address;
	struct worker *victim;
	size_t idx;

	if (space.features & UFFD_FEATURE_THREAD_ID) {
		victim = worker_by_tid((pid_t)m->arg.pagefault.feat.ptid);
		if (victim)
			atomic_fetch_add(&victim->faults, 1);
	}
	atomic_fetch_add(&w->faults_handled, 1);
	if (worker_enter(w)) {
		if (space_in_to(addr, &idx)) {
			map_claimed_or_wait(w, idx);
			/* Mapped by another thread: make sure the waiter runs. */
			wake_page(w, to_page(idx));
			worker_leave(w);
			return;
		}
		worker_leave(w);
	}
	/* Stale message from an earlier cycle (or shutdown): just wake. */
	wake_page(w, addr);
}

void *uffd_handler_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd pfd = { .fd = space.uffd, .events = POLLIN };
	struct uffd_msg msg[16];

	worker_started(w);
	while (!atomic_load(&handler_stop)) {
		ssize_t n;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		n = read(space.uffd, msg, sizeof(msg));
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(msg[0]); i++)
			if (msg[i].event == UFFD_EVENT_PAGEFAULT)
				handle_fault(w, &msg[i]);
	}
	return NULL;
}
