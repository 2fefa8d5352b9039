// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A tiny protobuf writer (see pb.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output/pb.h"
#include "lib/util.h"

void pb_init(struct pb *b)
{
	memset(b, 0, sizeof(*b));
}

void pb_reset(struct pb *b)
{
	b->len = 0;
	b->err = 0;
	b->depth = 0;
}

void pb_free(struct pb *b)
{
	free(b->buf);
	pb_init(b);
}

size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t pb_encode_varint(unsigned char *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (unsigned char)v;
	return n;
}

size_t pb_decode_varint(const unsigned char *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < n && i < PB_VARINT_MAX; i++) {
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			/* The 10th byte may only hold bit 63. */
			if (i == PB_VARINT_MAX - 1 && p[i] > 1)
				return 0;
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

static int reserve(struct pb *b, size_t n)
{
	if (b->err)
		return b->err;
	if (grow_array(&b->buf, &b->cap, b->len + n, 1))
		b->err = -ENOMEM;
	return b->err;
}

void pb_raw(struct pb *b, const void *p, size_t n)
{
	if (!n || reserve(b, n))
		return;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void pb_put_varint(struct pb *b, uint64_t v)
{
	if (reserve(b, PB_VARINT_MAX))
		return;
	b->len += pb_encode_varint(b->buf + b->len, v);
}

void pb_tag(struct pb *b, unsigned int field, enum pb_wire wt)
{
	pb_put_varint(b, ((uint64_t)field << 3) | wt);
}

void pb_uint(struct pb *b, unsigned int field, uint64_t v)
{
	pb_tag(b, field, PB_WT_VARINT);
	pb_put_varint(b, v);
}

void pb_int(struct pb *b, unsigned int field, int64_t v)
{
	/* Negative int32/int64 are sign-extended to 64 bits: 10 bytes. */
	pb_uint(b, field, (uint64_t)v);
}

void pb_sint(struct pb *b, unsigned int field, int64_t v)
{
	pb_uint(b, field, pb_zigzag(v));
}

void pb_bool(struct pb *b, unsigned int field, bool v)
{
	pb_uint(b, field, v ? 1 : 0);
}

void pb_fixed64(struct pb *b, unsigned int field, uint64_t v)
{
	unsigned char le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(v >> (8 * i));
	pb_tag(b, field, PB_WT_FIXED64);
	pb_raw(b, le, sizeof(le));
}

void pb_double(struct pb *b, unsigned int field, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	pb_fixed64(b, field, u);
}

void pb_bytes(struct pb *b, unsigned int field, const void *p, size_t n)
{
	pb_tag(b, field, PB_WT_LEN);
	pb_put_varint(b, n);
	pb_raw(b, p, n);
}

void pb_string(struct pb *b, unsigned int field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

void pb_begin(struct pb *b, unsigned int field)
{
	if (b->err)
		return;
	if (b->depth >= PB_MAX_DEPTH) {
		b->err = -EINVAL;
		return;
	}
	pb_tag(b, field, PB_WT_LEN);
	if (reserve(b, 1))
		return;
	b->open[b->depth++] = b->len;
	b->buf[b->len++] = 0;	/* length placeholder, one byte */
}

void pb_end(struct pb *b)
{
	size_t at, body, n;
	unsigned char v[PB_VARINT_MAX];

	if (b->err)
		return;
	if (b->depth <= 0) {
		b->err = -EINVAL;
		return;
	}
	at = b->open[--b->depth];
	body = b->len - at - 1;
	n = pb_encode_varint(v, body);
	if (n > 1) {
		if (reserve(b, n - 1))
			return;
		memmove(b->buf + at + n, b->buf + at + 1, body);
		b->len += n - 1;
	}
	memcpy(b->buf + at, v, n);
}
