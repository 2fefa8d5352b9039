/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * gcsim: an ART-style concurrent-compaction workload built on userfaultfd.
 * Shared types and functions of the workload's source files.
 */
#ifndef GCSIM_H
#define GCSIM_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "latency_hist.h"

#define GCSIM_MAX_GC_THREADS	64
#define GCSIM_MAX_MUTATORS	64

enum ioctl_mode { IOCTL_MOVE, IOCTL_COPY };

enum pressure_kind {
	PRESSURE_NONE = 0,
	PRESSURE_PAGEOUT = 1,
	PRESSURE_COMPACT = 2,
	PRESSURE_ALL = PRESSURE_PAGEOUT | PRESSURE_COMPACT,
};

enum page_order { ORDER_SHUFFLE, ORDER_REVERSE, ORDER_FORWARD };

/* Command line, after parsing and validation. */
struct options {
	unsigned long space_mb;
	unsigned int gc_threads;
	unsigned int mutators;
	bool ui;
	unsigned int ui_moves;		/* pages the ui thread moves per frame */
	unsigned int frame_hz;
	unsigned long frame_work_kb;
	enum ioctl_mode ioctl_mode;
	bool force_fallback;		/* test aid: behave as if MOVE is absent */
	unsigned int batch_pages;
	int sigbus;			/* -1: if available, 0: no, 1: required */
	double duration_s;		/* 0: no time limit */
	bool duration_set;
	unsigned long cycles;		/* 0: unlimited */
	unsigned long long moves;	/* 0: unlimited */
	unsigned long long seed;
	enum page_order order;
	enum pressure_kind pressure;
	unsigned long swap_mb;
	unsigned long inject_eexist;	/* test aid: every Nth page pre-mapped */
	unsigned int mutator_pause_us;
	int ui_nice;			/* nice of the ui thread (Android: display priority) */
	int gc_nice;			/* nice of the GC threads */
	/* CPUs the GC threads / the app's threads (ui, mutators) run on; unset: any. */
	cpu_set_t gc_cpus, app_cpus;
	bool gc_pinned, app_pinned;
	const char *json_path;
	int ready_fd;
	int go_fd;
	unsigned long start_delay_ms;
	bool cleanup_only;
};

enum role { ROLE_GC, ROLE_UI, ROLE_MUTATOR, ROLE_HANDLER };

enum uffd_ioc { IOC_MOVE, IOC_COPY, IOC_ZEROPAGE, IOC_WAKE, IOC_NR };

#define SLOWEST_N 8

struct ioctl_stats {
	uint64_t count;
	uint64_t errors;
	uint64_t eexist;
	uint64_t total_ns;
	uint64_t max_at_ns;	/* CLOCK_MONOTONIC start of the slowest call */
	struct latency_hist hist;
	/*
	 * The SLOWEST_N slowest calls, slowest first (start, duration). The
	 * clock window of a call also holds any preemption in user space next
	 * to ioctl(), which no kernel tracer sees: on a loaded machine the
	 * slowest window may be such a preemption, and a tracer's slowest
	 * ioctl is then another of these.
	 */
	struct { uint64_t at_ns, dur_ns; } slowest[SLOWEST_N];
	unsigned int nslowest;
};

/* One thread of the workload and everything it measured. */
struct worker {
	pthread_t thread;
	pid_t tid;
	char name[16];
	enum role role;
	unsigned int index;		/* GC: 0 = HeapTaskDaemon; mutators: 1.. */
	uint64_t rng;

	/* Set while the thread may touch or map to-space pages. */
	atomic_int busy;

	struct ioctl_stats ioc[IOC_NR];
	atomic_ulong faults;		/* uffd faults taken by this thread */
	atomic_ulong faults_handled;	/* uffd-handler: fault messages served */
	uint64_t fault_blocked_ns;
	uint64_t fault_max_ns;
	uint64_t pages_mapped;

	/* ui only */
	uint64_t frames, janky, stalled_30ms, worst_frame_ns;
	struct latency_hist frame_hist;
};

enum page_state { PAGE_UNPROCESSED = 0, PAGE_CLAIMED = 1, PAGE_MAPPED = 2 };
enum cycle_phase { PHASE_RUNNING = 0, PHASE_FLIPPING = 1 };

/* The moving space: two equal anonymous VMAs, both registered (MISSING). */
struct space {
	size_t page_size;
	size_t npages;
	size_t bytes;
	char *half[2];
	int to;				/* index of the to-space in half[] */
	int uffd;
	enum ioctl_mode mode;
	bool fallback;
	bool sigbus;
	uint64_t features;		/* UFFDIO_API features in effect */

	_Atomic unsigned char *state;	/* enum page_state per to-space page */
	uint32_t *order;		/* chunk indexes in compaction order */
	size_t nchunks;
	unsigned int batch;
	atomic_size_t cursor;		/* next entry of order[] to claim */
	atomic_uint phase;
	atomic_uint gen;		/* cycle number, bumped at each flip */
	atomic_ullong total_mapped;	/* pages mapped over all cycles */
	atomic_ulong cycles_done;
	unsigned long inject_eexist;
	atomic_ulong inject_ctr;
};

/* Global run state */
extern struct options opt;
extern struct space space;
extern atomic_int stop_flag;
extern atomic_int start_flag;
extern struct worker *workers;
extern unsigned int nworkers;
extern __thread struct worker *self;
struct worker *worker_by_tid(pid_t tid);

/* time.c helpers */
uint64_t now_ns(void);
void sleep_ns(uint64_t ns);
pid_t gettid_compat(void);
uint64_t rng_next(uint64_t *s);

/* options.c */
int parse_options(int argc, char **argv);
const char *pressure_name(enum pressure_kind p);

/* moving_space.c */
int space_init(void);
void space_destroy(void);
char *to_page(size_t idx);
char *from_page(size_t idx);
bool space_in_to(const void *addr, size_t *idx);
bool worker_enter(struct worker *w);
void worker_leave(struct worker *w);
size_t claim_chunk(size_t *first);
void map_run(struct worker *w, size_t first, size_t n);
void map_claimed_or_wait(struct worker *w, size_t idx);
void flip_cycle(void);
bool move_limit_reached(void);
int uffd_ioctl_timed(struct worker *w, enum uffd_ioc which,
		     unsigned long req, void *arg);

/* gc_threads.c */
void *gc_thread_main(void *arg);

/* mutator_threads.c */
void *mutator_main(void *arg);
void *ui_main(void *arg);
uint64_t touch_pages(struct worker *w, size_t first, size_t n, bool write);

/* fault_handling.c */
int sigbus_install(void);
void *uffd_handler_main(void *arg);
extern atomic_int handler_stop;

/* pressure.c */
int pressure_start(void);
void pressure_stop(void);
void pressure_cleanup_stale(void);
extern atomic_ulong pressure_ops;

/* report.c */
const char *role_name(enum role r);
const char *ioc_name(enum uffd_ioc i);
int write_json(const char *path, uint64_t duration_ns);
void print_summary(uint64_t duration_ns);

void worker_started(struct worker *w);

#endif /* GCSIM_H */
