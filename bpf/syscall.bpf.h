/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The ioctl syscall number and a syscall's pt_regs fields, per architecture. */
#ifndef MMLOCK_SYSCALL_BPF_H
#define MMLOCK_SYSCALL_BPF_H

#if defined(__TARGET_ARCH_x86)
#define NR_IOCTL 16
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#define SYSCALL_ARG2(regs) ((regs)->si)
#define SYSCALL_ARG3(regs) ((regs)->dx)
#elif defined(__TARGET_ARCH_arm64)
#define NR_IOCTL 29
#define SYSCALL_NR(regs) ((regs)->syscallno)
#define SYSCALL_ARG2(regs) ((regs)->regs[1])
#define SYSCALL_ARG3(regs) ((regs)->regs[2])
#else
#error "mmlock: set __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif

#endif
