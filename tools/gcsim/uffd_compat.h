/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * userfaultfd definitions newer than the uapi headers we may build against.
 * Debian 12 ships 6.1 headers, which predate UFFDIO_MOVE (Linux 6.8).
 * The values are ABI and identical on x86_64 and arm64.
 */
#ifndef GCSIM_UFFD_COMPAT_H
#define GCSIM_UFFD_COMPAT_H

#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif

#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE 0x05
#endif

#ifndef UFFDIO_MOVE
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE		((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES	((__u64)1 << 1)
	__u64 mode;
	/* bytes moved, or -errno when nothing was moved */
	__s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

_Static_assert(sizeof(struct uffdio_move) == 40, "uffdio_move ABI");

#endif /* GCSIM_UFFD_COMPAT_H */
