// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Deeper mm probes, for kernels where fentry/fexit or kprobes work (not the
 * tracepoint-only kernel of the project's CI host: there the ladder reports
 * them refused). Every probe has an fentry/fexit program and a kprobe/
 * kretprobe pair; the ladder picks per probe.
 *
 * anon_vma_lock_write and anon_vma_trylock_write are header inlines; they
 * are reached through down_write_trylock / down_write / up_write on a
 * semaphore that is a root anon_vma's rwsem (anon_vma->root == anon_vma):
 *  - trylock: attempts and failures (a failure then sleeps or spins in
 *    down_write; contention tracepoints miss the spinning ones);
 *  - acquire: down_write call .. return, optimistic spinning included;
 *  - hold: taken (trylock success or down_write return) .. up_write.
 * rmap_walk_anon: duration of each anon rmap walk (its callers hold or wait
 * for the anon_vma read lock). __folio_lock: the folio lock wait itself
 * (folio_trylock is inline: __folio_lock is called only when it failed).
 * rwsem_down_write_slowpath: entry .. first lock wait or return, the
 * optimistic spin of a writer inside a uffd ioctl (PART_RWSEM_SPIN).
 * userfaultfd_ioctl: uffd ioctl latency without the syscall tracepoints.
 */
#include "uffd.bpf.h"
#include "mmprobes.bpf.h"

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/*
 * kprobe entry: remember the argument and the time until the kretprobe.
 * BPF_ANY: an entry left by a return that was missed is stale; replace it.
 * The update fails only when the map is full (counted: that call is lost).
 */
static __always_inline void call_enter(enum call_slot slot, __u64 arg)
{
	struct call_state st = { .arg = arg, .ts = bpf_ktime_get_boot_ns() };
	__u64 key = call_key((__u32)bpf_get_current_pid_tgid(), slot);

	if (bpf_map_update_elem(&calls, &key, &st, BPF_ANY))
		count(CNT_CALL_FULL);
}

static __always_inline bool call_exit(enum call_slot slot, struct call_state *out)
{
	__u64 key = call_key((__u32)bpf_get_current_pid_tgid(), slot);
	struct call_state *st = bpf_map_lookup_elem(&calls, &key);

	if (!st)
		return false;
	*out = *st;
	bpf_map_delete_elem(&calls, &key);
	return true;
}

/* The anon_vma write lock taken: its hold ends at up_write (BPF_ANY: as call_enter). */
static __always_inline void hold_begin(__u64 sem)
{
	struct call_state st = { .arg = sem, .ts = bpf_ktime_get_boot_ns() };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&held, &tid, &st, BPF_ANY))
		count(CNT_HELD_FULL);
}

/* ---- anon_vma write trylock ---- */

static __always_inline void trylock_done(__u64 sem, long ok)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!want_current() || !is_anon_vma_root(sem))
		return;
	hist_add(current_task(), tid, KIND_TRYLOCK, CLASS_ANON_VMA_WRITE, context_site(tstate(tid, false)), 0,
		 ok ? 0 : 1);
	if (ok)
		hold_begin(sem);
}

SEC("fexit/down_write_trylock")
int BPF_PROG(trylock_fexit, struct rw_semaphore *sem, int ret)
{
	trylock_done((__u64)sem, ret);
	return 0;
}

SEC("kprobe/down_write_trylock")
int BPF_KPROBE(trylock_kprobe, struct rw_semaphore *sem)
{
	if (want_current())
		call_enter(CALL_TRYLOCK, (__u64)sem);
	return 0;
}

SEC("kretprobe/down_write_trylock")
int BPF_KRETPROBE(trylock_kretprobe, int ret)
{
	struct call_state st;

	if (call_exit(CALL_TRYLOCK, &st))
		trylock_done(st.arg, ret);
	return 0;
}

/* ---- anon_vma write: acquisition (spinning included) and hold ---- */

static __always_inline void down_write_begin(__u64 sem)
{
	if (want_current() && is_anon_vma_root(sem))
		call_enter(CALL_DOWN_WRITE, sem);
}

static __always_inline void down_write_end(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call_state st;

	if (!call_exit(CALL_DOWN_WRITE, &st))
		return;
	hist_add(current_task(), tid, KIND_ACQUIRE, CLASS_ANON_VMA_WRITE, context_site(tstate(tid, false)),
		 bpf_ktime_get_boot_ns() - st.ts, 0);
	hold_begin(st.arg);
}

static __always_inline void up_write_seen(__u64 sem)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call_state *st = bpf_map_lookup_elem(&held, &tid);

	if (!st || st->arg != sem)
		return;
	hist_add(current_task(), tid, KIND_HOLD, CLASS_ANON_VMA_WRITE, context_site(tstate(tid, false)),
		 bpf_ktime_get_boot_ns() - st->ts, 0);
	bpf_map_delete_elem(&held, &tid);
}

/*
 * One kernel function timed from entry to return: fentry+fexit where the
 * kernel has trampolines, else kprobe+kretprobe (the ladder picks the pair).
 * Extra arguments are the function's leading parameters (entry side only).
 */
#define ENTRY_RETURN_PROGS(name, func, on_entry, on_return, ...)		\
SEC("fentry/" #func)								\
int BPF_PROG(name##_fentry, ##__VA_ARGS__)					\
{										\
	on_entry;								\
	return 0;								\
}										\
SEC("fexit/" #func)								\
int BPF_PROG(name##_fexit, ##__VA_ARGS__)					\
{										\
	on_return;								\
	return 0;								\
}										\
SEC("kprobe/" #func)								\
int BPF_KPROBE(name##_kprobe, ##__VA_ARGS__)					\
{										\
	on_entry;								\
	return 0;								\
}										\
SEC("kretprobe/" #func)								\
int BPF_KRETPROBE(name##_kretprobe)						\
{										\
	on_return;								\
	return 0;								\
}

ENTRY_RETURN_PROGS(down_write, down_write, down_write_begin((__u64)sem), down_write_end(),
		   struct rw_semaphore *sem)

SEC("fentry/up_write")
int BPF_PROG(up_write_fentry, struct rw_semaphore *sem)
{
	up_write_seen((__u64)sem);
	return 0;
}

SEC("kprobe/up_write")
int BPF_KPROBE(up_write_kprobe, struct rw_semaphore *sem)
{
	up_write_seen((__u64)sem);
	return 0;
}

/* ---- rmap walks and folio lock waits: timed calls ---- */

static __always_inline void timed_begin(enum call_slot slot)
{
	if (want_current())
		call_enter(slot, 0);
}

static __always_inline void timed_end(void *ctx, enum call_slot slot)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u8 kind = slot == CALL_RMAP ? KIND_RMAP : KIND_LOCK;
	__u8 cls = slot == CALL_RMAP ? CLASS_OTHER : CLASS_FOLIO;
	struct thread_state *ts = tstate(tid, false);
	__u8 site = context_site(ts);
	__s32 stack_id = -1;
	struct call_state st;
	__u64 dur;

	if (!call_exit(slot, &st))
		return;
	dur = bpf_ktime_get_boot_ns() - st.ts;
	if (dur >= stack_min_ns)
		stack_id = current_stack(ctx, &cls, &site);
	if (slot == CALL_RMAP)
		cls = CLASS_OTHER;	/* the stack's markers name the caller, not a lock */
	hist_add(current_task(), tid, kind, cls, site, dur, 0);
	stack_add(tid, stack_id, kind, cls, site, dur);
	if (slot == CALL_FOLIO && ts)
		ioctl_add_wait(ts, CLASS_FOLIO, dur);
}

ENTRY_RETURN_PROGS(rmap, rmap_walk_anon, timed_begin(CALL_RMAP), timed_end(ctx, CALL_RMAP))
ENTRY_RETURN_PROGS(folio_lock, __folio_lock, timed_begin(CALL_FOLIO), timed_end(ctx, CALL_FOLIO))

/* ---- [rwspin] an rwsem writer's optimistic spin inside a uffd ioctl (uffd.bpf.h) ---- */

ENTRY_RETURN_PROGS(rwsem_spin, rwsem_down_write_slowpath, rwspin_begin(), rwspin_return())

/* ---- uffd ioctls without the syscall tracepoints ---- */

SEC("fentry/userfaultfd_ioctl")
int BPF_PROG(uffd_ioctl_fentry, struct file *file, unsigned int cmd, unsigned long arg)
{
	return ioctl_enter(cmd, arg);
}

SEC("fexit/userfaultfd_ioctl")
int BPF_PROG(uffd_ioctl_fexit, struct file *file, unsigned int cmd, unsigned long arg, long ret)
{
	return ioctl_exit(ret, cmd);
}

SEC("kprobe/userfaultfd_ioctl")
int BPF_KPROBE(uffd_ioctl_kprobe, struct file *file, unsigned int cmd, unsigned long arg)
{
	return ioctl_enter(cmd, arg);
}

SEC("kretprobe/userfaultfd_ioctl")
int BPF_KRETPROBE(uffd_ioctl_kretprobe, long ret)
{
	return ioctl_exit(ret, 0);	/* no arguments at return */
}
