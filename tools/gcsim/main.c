// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gcsim main: set up the moving space, start and name the threads, run
 * compaction cycles until a limit or SIGINT/SIGTERM, then report.
 */
#include <sys/resource.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gcsim.h"

atomic_int stop_flag;
atomic_int start_flag;
static atomic_uint ready_count;
/*
 * Workers sleep on this until the start: a tracer that attached early must
 * see nothing of them before it (polling every 1 ms put them on CPU, where
 * timer interrupts spun for runqueue locks: waits that only the earlier of
 * two side-by-side recorders could see, tools/vm/guest-test.sh).
 */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
struct worker *workers;
unsigned int nworkers;
__thread struct worker *self;

/* The worker whose thread is tid, NULL if none (the uffd handler's lookup). */
struct worker *worker_by_tid(pid_t tid)
{
	for (unsigned int i = 0; i < nworkers; i++)
		if (workers[i].tid == tid)
			return &workers[i];
	return NULL;
}

static void on_stop_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

/* Called first by every worker thread: identify, name, wait for start. */
void worker_started(struct worker *w)
{
	self = w;
	w->tid = gettid_compat();
	pthread_setname_np(pthread_self(), w->name);
	/* Android runs the UI thread above the GC threads; a failure (not root) is harmless. */
	if (w->role == ROLE_UI || w->role == ROLE_GC)
		setpriority(PRIO_PROCESS, w->tid, w->role == ROLE_UI ? opt.ui_nice : opt.gc_nice);
	/* Android keeps the GC in the background cpuset (little cores), the app's threads on others. */
	if (w->role == ROLE_GC ? opt.gc_pinned : (w->role != ROLE_HANDLER && opt.app_pinned)) {
		const cpu_set_t *set = w->role == ROLE_GC ? &opt.gc_cpus : &opt.app_cpus;

		if (sched_setaffinity(0, sizeof(*set), set)) {
			fprintf(stderr, "gcsim: %s: cannot run on %s: %s\n", w->name,
				w->role == ROLE_GC ? "--gc-cpus" : "--app-cpus", strerror(errno));
			exit(1);
		}
	}
	atomic_fetch_add(&ready_count, 1);
	pthread_mutex_lock(&start_lock);
	while (!atomic_load(&start_flag))
		pthread_cond_wait(&start_cond, &start_lock);
	pthread_mutex_unlock(&start_lock);
}

/* Wake the workers (also when stopped before the start: they see stop_flag). */
static void start_workers(void)
{
	pthread_mutex_lock(&start_lock);
	atomic_store(&start_flag, 1);
	pthread_cond_broadcast(&start_cond);
	pthread_mutex_unlock(&start_lock);
}

static void add_worker(enum role role, unsigned int index, const char *name)
{
	struct worker *w = &workers[nworkers++];

	w->role = role;
	w->index = index;
	snprintf(w->name, sizeof(w->name), "%.15s", name);
	w->rng = opt.seed ^ ((uint64_t)nworkers << 32) ^ 0x5851f42d4c957f2dull;
}

static void setup_workers(void)
{
	char name[32];
	unsigned int i;

	workers = calloc(opt.gc_threads + opt.mutators + 2, sizeof(*workers));
	if (!workers) {
		fprintf(stderr, "gcsim: out of memory\n");
		exit(1);
	}
	add_worker(ROLE_GC, 0, "HeapTaskDaemon");
	for (i = 1; i < opt.gc_threads; i++) {
		snprintf(name, sizeof(name), "GCWorker-%u", i);
		add_worker(ROLE_GC, i, name);
	}
	if (opt.ui)
		add_worker(ROLE_UI, 0, "ui");
	for (i = 1; i <= opt.mutators; i++) {
		snprintf(name, sizeof(name), "mutator-%u", i);
		add_worker(ROLE_MUTATOR, i, name);
	}
	if (!space.sigbus)
		add_worker(ROLE_HANDLER, 0, "uffd-handler");
}

static void *(*thread_fn(enum role r))(void *)
{
	switch (r) {
	case ROLE_GC: return gc_thread_main;
	case ROLE_UI: return ui_main;
	case ROLE_MUTATOR: return mutator_main;
	default: return uffd_handler_main;
	}
}

static void install_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* --ready-fd / --go-fd / --start-delay-ms handshake with a tracer. */
static void start_handshake(void)
{
	if (opt.ready_fd >= 0) {
		char buf[32];
		int len = snprintf(buf, sizeof(buf), "ready %d\n", (int)getpid());

		if (write(opt.ready_fd, buf, (size_t)len) != len)
			fprintf(stderr, "gcsim: --ready-fd %d: %s\n", opt.ready_fd,
				strerror(errno));
		if (opt.ready_fd != opt.go_fd)
			close(opt.ready_fd);
	}
	if (opt.go_fd >= 0) {
		char c;

		while (read(opt.go_fd, &c, 1) < 0 && errno == EINTR &&
		       !atomic_load(&stop_flag))
			;
	}
	if (opt.start_delay_ms)
		sleep_ns(opt.start_delay_ms * 1000000ull);
}

int main(int argc, char **argv)
{
	sigset_t block, old;
	uint64_t t_start, t_end, deadline;
	unsigned int i;
	int rc = 0;

	parse_options(argc, argv);
	fprintf(stderr, "gcsim: pid %d\n", (int)getpid());
	space.uffd = -1;
	install_stop_signals();
	/* A swapfile left by a SIGKILLed --pressure pageout run. */
	pressure_cleanup_stale();
	if (opt.cleanup_only)
		return 0;
	if (space_init()) {
		space_destroy();
		return 1;
	}
	if (space.sigbus && sigbus_install()) {
		fprintf(stderr, "gcsim: sigaction(SIGBUS): %s\n", strerror(errno));
		return 1;
	}
	setup_workers();

	/* Workers never take SIGINT/SIGTERM: the main thread handles them. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < nworkers; i++) {
		int err = pthread_create(&workers[i].thread, NULL,
					 thread_fn(workers[i].role), &workers[i]);
		if (err) {
			fprintf(stderr, "gcsim: pthread_create: %s\n", strerror(err));
			exit(1);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (atomic_load(&ready_count) < nworkers)
		sleep_ns(1000000);

	start_handshake();
	if (pressure_start())
		fprintf(stderr, "gcsim: note: pressure thread not started\n");
	t_start = now_ns();
	deadline = opt.duration_s > 0 ? t_start + (uint64_t)(opt.duration_s * 1e9) : 0;
	start_workers();

	while (!atomic_load(&stop_flag)) {
		uint64_t t = now_ns();

		if (deadline && t >= deadline)
			break;
		sleep_ns(deadline && deadline - t < 5000000 ? deadline - t : 5000000);
	}
	atomic_store(&stop_flag, 1);
	/* Mappers and touchers first; the fault handler serves them to the end. */
	for (i = 0; i < nworkers; i++)
		if (workers[i].role != ROLE_HANDLER)
			pthread_join(workers[i].thread, NULL);
	atomic_store(&handler_stop, 1);
	for (i = 0; i < nworkers; i++)
		if (workers[i].role == ROLE_HANDLER)
			pthread_join(workers[i].thread, NULL);
	t_end = now_ns();
	pressure_stop();

	print_summary(t_end - t_start);
	if (opt.json_path && write_json(opt.json_path, t_end - t_start))
		rc = 1;
	space_destroy();
	return rc;
}
