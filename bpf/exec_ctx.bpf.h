/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The execution context a program runs in (task, softirq, hardirq, NMI):
 * the contention programs keep a spin wait's frame per CPU and context, and
 * file waits in interrupt context under no thread (bpf/contention.bpf.c).
 */
#ifndef MMLOCK_EXEC_CTX_BPF_H
#define MMLOCK_EXEC_CTX_BPF_H

#include "common.bpf.h"

/* preempt_count bits (include/linux/preempt.h, unchanged from 5.x to 7.2). */
#define PC_SOFTIRQ_OFFSET	0x00000100U	/* serving a softirq (not just bh-disabled) */
#define PC_HARDIRQ_MASK		0x000f0000U
#define PC_NMI_MASK		0x00f00000U

#if defined(bpf_target_x86)
/*
 * x86 keeps the preempt count per CPU: __preempt_count up to 6.1 and again
 * from 6.15, inside struct pcpu_hot from 6.2 to 6.14. Both are weak: the one
 * this kernel's BTF lacks resolves to NULL and its branch is dead code. The
 * verifier finds their address in kallsyms, which lists per-CPU symbols only
 * with CONFIG_KALLSYMS_ALL (Debian and Android: yes): the ladder loads
 * these programs only where kallsyms has one of them, else the _sp ones.
 */
extern const int __preempt_count __ksym __weak;
struct pcpu_hot___mmlock {
	int preempt_count;
} __attribute__((preserve_access_index));
extern const struct pcpu_hot___mmlock pcpu_hot __ksym __weak;

static __always_inline __u32 preempt_count(void)
{
	if (&__preempt_count)
		return *(int *)bpf_this_cpu_ptr(&__preempt_count);
	if (&pcpu_hot)
		return ((struct pcpu_hot___mmlock *)bpf_this_cpu_ptr(&pcpu_hot))->preempt_count;
	return 0;
}

/* x86_64 interrupt stacks (IRQ_STACK_SIZE == THREAD_SIZE): gives the task stack's size. */
struct irq_stack___mmlock {
	char stack[1];
} __attribute__((preserve_access_index));

/*
 * Without per-CPU symbols: task or interrupt, from the stack the tracepoint
 * was hit on. A raw tracepoint's ctx (the argument array) lies on the stack
 * of the code that hit it (the program's own frame may not: x86 gives BPF
 * programs per-CPU private stacks since 6.13). Hardirqs and softirqs run on
 * the CPU's interrupt stack, NMIs on their own; a task (ksoftirqd and
 * threaded irqs included) on its own. Softirq and hardirq are not told
 * apart: both count as CTX_HARDIRQ.
 */
static __always_inline __u32 exec_ctx_sp(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 base = (__u64)BPF_CORE_READ(t, stack), size = 16384, p, addr = 0;

	if (bpf_core_type_exists(struct irq_stack___mmlock))
		size = bpf_core_type_size(struct irq_stack___mmlock);
	/* ctx's address as a plain number (the verifier would track it as a pointer). */
	p = (__u64)ctx;
	bpf_probe_read_kernel(&addr, sizeof(addr), &p);
	return addr - base < size ? CTX_TASK : CTX_HARDIRQ;
}
#elif defined(bpf_target_arm64)
/* arm64 keeps it in thread_info (the low half of a u64 on little endian). */
static __always_inline __u32 preempt_count(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(t, thread_info.preempt.count);
}
#else
#error "preempt_count(): unsupported architecture"
#endif

/* The context the program runs in (enum mm_exec_ctx), from the preempt count. */
static __always_inline __u32 exec_ctx(void *ctx)
{
	__u32 pc = preempt_count();

	if (pc & PC_NMI_MASK)
		return CTX_NMI;
	if (pc & PC_HARDIRQ_MASK)
		return CTX_HARDIRQ;
	if (pc & PC_SOFTIRQ_OFFSET)
		return CTX_SOFTIRQ;
	return CTX_TASK;
}

#if defined(bpf_target_arm64)
#define exec_ctx_sp exec_ctx	/* arm64 needs no symbol: the _sp programs are the same */

static __always_inline bool exec_ctx_disagrees(void *ctx, __u32 ectx)
{
	return false;	/* no second way to tell on arm64 */
}
#else
/*
 * The preempt-count masks above are constants: a kernel that moves its bits
 * (a layout change is queued for 7.3) would file waits in the wrong context.
 * Cross-checked against the stack the tracepoint was hit on, which needs no
 * layout: task or not must agree. Called where it is cheap enough: for waits
 * the preempt count puts in interrupt context, and for spinning waits.
 */
static __always_inline bool exec_ctx_disagrees(void *ctx, __u32 ectx)
{
	return (exec_ctx_sp(ctx) == CTX_TASK) != (ectx == CTX_TASK);
}
#endif

#endif /* MMLOCK_EXEC_CTX_BPF_H */
