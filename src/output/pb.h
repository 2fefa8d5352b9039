/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tiny protobuf writer: varints, fixed64, length-delimited fields and
 * nested messages in one growable buffer. pb_begin() reserves one byte for
 * the length of a nested message; pb_end() writes the length and, when it
 * needs more than one byte, moves the body up, so the output is always the
 * canonical (shortest) encoding.
 *
 * Errors are sticky: after an allocation failure or an unbalanced
 * pb_begin/pb_end, every call is a no-op and b->err is negative.
 */
#ifndef MMLOCK_PB_H
#define MMLOCK_PB_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define PB_MAX_DEPTH	16
#define PB_VARINT_MAX	10	/* bytes in the longest varint */

enum pb_wire {
	PB_WT_VARINT = 0,
	PB_WT_FIXED64 = 1,
	PB_WT_LEN = 2,
	PB_WT_FIXED32 = 5,
};

struct pb {
	unsigned char *buf;
	size_t len, cap;
	int err;			/* 0, -ENOMEM or -EINVAL (nesting) */
	int depth;
	size_t open[PB_MAX_DEPTH];	/* offset of each open message's length byte */
};

void pb_init(struct pb *b);
void pb_reset(struct pb *b);	/* empty the buffer, keep the memory */
void pb_free(struct pb *b);

/* Raw encoding helpers. */
size_t pb_varint_len(uint64_t v);
size_t pb_encode_varint(unsigned char *out, uint64_t v);	/* out: PB_VARINT_MAX bytes */
/* Decode a varint from p[0..n): bytes used, or 0 if truncated / too long. */
size_t pb_decode_varint(const unsigned char *p, size_t n, uint64_t *v);
static inline uint64_t pb_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void pb_raw(struct pb *b, const void *p, size_t n);
void pb_put_varint(struct pb *b, uint64_t v);
void pb_tag(struct pb *b, unsigned int field, enum pb_wire wt);

/* Fields. */
void pb_uint(struct pb *b, unsigned int field, uint64_t v);	/* uint32/uint64/enum */
void pb_int(struct pb *b, unsigned int field, int64_t v);	/* int32/int64 */
void pb_sint(struct pb *b, unsigned int field, int64_t v);	/* sint32/sint64 */
void pb_bool(struct pb *b, unsigned int field, bool v);
void pb_fixed64(struct pb *b, unsigned int field, uint64_t v);
void pb_double(struct pb *b, unsigned int field, double v);
void pb_bytes(struct pb *b, unsigned int field, const void *p, size_t n);
void pb_string(struct pb *b, unsigned int field, const char *s);

/* Nested message: pb_begin(b, field) ... fields ... pb_end(b). */
void pb_begin(struct pb *b, unsigned int field);
void pb_end(struct pb *b);

#endif /* MMLOCK_PB_H */
