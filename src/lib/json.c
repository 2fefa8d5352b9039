// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * JSON reader and writer; see json.h. RFC 8259, strict: no comments, no
 * trailing commas, no NaN; text must be UTF-8 (a leading BOM is skipped).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lib/json.h"
#include "lib/util.h"

/* Node flags. */
#define JV_ROOT	0x01	/* root of a document: owns the arena */
#define JV_INT	0x02	/* number written as an integer literal */
#define JV_U64	0x04	/* num.u holds its exact value */
#define JV_S64	0x08	/* num.s holds its exact value */

struct json_member;

struct json_value {
	unsigned char type;	/* enum json_type */
	unsigned char flags;	/* JV_* */
	union {
		bool b;
		struct {
			double d;
			union {
				__u64 u;
				__s64 s;
			};
		} num;
		struct {
			const char *s;	/* NUL-terminated, may hold \0 */
			size_t len;
		} str;
		struct {
			struct json_value *items;
			size_t n;
		} arr;
		struct {
			struct json_member *members;
			size_t n;
		} obj;
	};
};

struct json_member {
	const char *key;	/* NULL while collecting array elements */
	struct json_value val;
};

/*
 * Arena: nodes and strings are bump-allocated from a list of chunks, so a
 * document of millions of values costs a few hundred mallocs and one walk
 * to free.
 */
#define CHUNK_SIZE	(64 * 1024)
#define ARENA_ALIGN	_Alignof(max_align_t)

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct json_doc {
	struct json_value root;	/* first: json_free() maps root to doc */
	struct chunk *chunks;	/* the head is the one being filled */
};

static void *arena_alloc(struct json_doc *doc, size_t n)
{
	struct chunk *c = doc->chunks;
	void *p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (!c || c->size - c->used < n) {
		size_t size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		if (size > CHUNK_SIZE && doc->chunks) {
			/* A big block fills its own chunk: keep the head so
			 * its free space is still used. */
			c->next = doc->chunks->next;
			doc->chunks->next = c;
		} else {
			c->next = doc->chunks;
			doc->chunks = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void arena_free(struct json_doc *doc)
{
	struct chunk *c, *next;

	for (c = doc->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	doc->chunks = NULL;
}

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is
 * invalid: overlong, a surrogate, above U+10FFFF or truncated. A NUL stops
 * it early, so NUL-terminated callers may pass n = 4.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned int c = s[0];
	__u32 cp, min;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static size_t utf8_put(char *out, __u32 cp)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | cp >> 6;
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | cp >> 12;
		out[1] = 0x80 | ((cp >> 6) & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | cp >> 18;
	out[1] = 0x80 | ((cp >> 12) & 0x3f);
	out[2] = 0x80 | ((cp >> 6) & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* ---- Parser ---- */

struct parser {
	const char *text;
	size_t len, pos;
	struct json_doc *doc;
	/*
	 * Members of all containers still open, innermost last. A container
	 * learns its size only at its closing bracket; collecting here and
	 * then copying into the arena avoids growing arrays in the arena.
	 */
	struct json_member *stack;
	size_t nstack, capstack;
	char *err;
	size_t errlen;
};

/* Report "line L col C: what" for text[pos]; columns count characters. */
__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	size_t line = 1, col = 1, i;
	char what[128];
	va_list ap;

	if (!p->err || !p->errlen)
		return -1;
	for (i = 0; i < pos && i < p->len; i++) {
		if (p->text[i] == '\n')
			line++, col = 1;
		else if (((unsigned char)p->text[i] & 0xc0) != 0x80)
			col++;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "line %zu col %zu: %s", line, col, what);
	return -1;
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

/* "expected X, got Y" at the current position. */
static int fail_expected(struct parser *p, const char *what)
{
	int c = peek(p);

	if (c < 0)
		return fail(p, p->pos, "expected %s, got end of input", what);
	if (c > 0x20 && c < 0x7f)
		return fail(p, p->pos, "expected %s, got '%c'", what, c);
	return fail(p, p->pos, "expected %s, got byte 0x%02x", what, c);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->text[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int push(struct parser *p, const char *key, const struct json_value *v)
{
	if (grow_array(&p->stack, &p->capstack, p->nstack + 1, sizeof(*p->stack)))
		return fail(p, p->pos, "out of memory");
	p->stack[p->nstack].key = key;
	p->stack[p->nstack].val = *v;
	p->nstack++;
	return 0;
}

static int hex4(const char *s, __u32 *out)
{
	__u32 v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* p->pos is at the opening quote. */
/*
 * The escape at p->pos (a backslash; parse_string's scan guarantees a next
 * byte, and `end` is the closing quote) decoded into out + *o; p->pos moves
 * past it.
 */
static int parse_escape(struct parser *p, size_t end, char *out, size_t *o)
{
	static const char names[] = "\"\\/bfnrt", chars[] = "\"\\/\b\f\n\r\t";
	const char *t = p->text;
	unsigned char c = t[p->pos + 1];
	const char *m = c ? strchr(names, c) : NULL;
	__u32 cp, lo;

	if (m) {
		out[(*o)++] = chars[m - names];
		p->pos += 2;
		return 0;
	}
	if (c != 'u')
		return fail(p, p->pos, "invalid escape '\\%c'", c);
	if (end - p->pos < 6 || hex4(t + p->pos + 2, &cp))
		return fail(p, p->pos, "invalid \\u escape");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(p, p->pos, "unpaired surrogate \\u%04x", cp);
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* UTF-16 pair: the low half must follow. */
		if (end - p->pos < 12 || t[p->pos + 6] != '\\' || t[p->pos + 7] != 'u' ||
		    hex4(t + p->pos + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return fail(p, p->pos, "unpaired surrogate \\u%04x", cp);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		p->pos += 6;
	}
	*o += utf8_put(out + *o, cp);
	p->pos += 6;
	return 0;
}

static int parse_string(struct parser *p, const char **sp, size_t *lenp)
{
	const char *t = p->text;
	size_t start = p->pos, end, o = 0;
	char *out;

	/*
	 * Find the closing quote first: decoding never makes a string
	 * longer, so its source length bounds the allocation.
	 */
	for (end = start + 1; end < p->len && t[end] != '"'; end++) {
		if (t[end] == '\\')
			end++;
	}
	if (end >= p->len)
		return fail(p, start, "unterminated string");
	out = arena_alloc(p->doc, end - start);
	if (!out)
		return fail(p, start, "out of memory");

	p->pos = start + 1;
	while (p->pos < end) {
		unsigned char c = t[p->pos];
		size_t n;

		if (c >= 0x20 && c != '\\' && c < 0x80) {
			out[o++] = c;
			p->pos++;
			continue;
		}
		if (c >= 0x80) {
			n = utf8_seq((const unsigned char *)t + p->pos,
				     end - p->pos);
			if (!n)
				return fail(p, p->pos, "invalid UTF-8 in string");
			memcpy(out + o, t + p->pos, n);
			o += n;
			p->pos += n;
			continue;
		}
		if (c < 0x20)
			return fail(p, p->pos,
				    "control character 0x%02x in string", c);

		if (parse_escape(p, end, out, &o))
			return -1;
	}
	out[o] = '\0';
	p->pos = end + 1;
	*sp = out;
	*lenp = o;
	return 0;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The double of the n bytes at start: strtod() needs a terminated copy, text may not end there. */
static int number_double(struct parser *p, size_t start, size_t n, double *d)
{
	char buf[64], *tmp = buf;

	if (n >= sizeof(buf)) {
		tmp = malloc(n + 1);
		if (!tmp)
			return fail(p, start, "out of memory");
	}
	memcpy(tmp, p->text + start, n);
	tmp[n] = '\0';
	*d = strtod(tmp, NULL);	/* 1e999 becomes inf, as in JS */
	if (tmp != buf)
		free(tmp);
	return 0;
}

/* An integer literal of magnitude mag that fits: its exact __u64 and/or __s64. */
static void number_exact(struct json_value *out, bool neg, __u64 mag)
{
	if (!neg) {
		out->num.u = mag;
		out->flags |= JV_U64;
		if (mag <= INT64_MAX)
			out->flags |= JV_S64;
	} else if (mag <= (__u64)INT64_MAX + 1) {
		out->num.s = mag == (__u64)INT64_MAX + 1 ? INT64_MIN : -(__s64)mag;
		out->flags |= JV_S64;
	}
}

static int parse_number(struct parser *p, struct json_value *out)
{
	const char *t = p->text;
	size_t start = p->pos, i = start;
	bool neg = false, is_int = true, overflow = false;
	__u64 mag = 0;

	if (t[i] == '-')
		neg = true, i++;
	if (i >= p->len || !is_digit(t[i]))
		return fail(p, i, "invalid number: expected a digit");
	if (t[i] == '0') {
		i++;
		if (i < p->len && is_digit(t[i]))
			return fail(p, start, "invalid number: leading zero");
	} else {
		for (; i < p->len && is_digit(t[i]); i++) {
			unsigned int d = t[i] - '0';

			if (mag > (UINT64_MAX - d) / 10)
				overflow = true;
			else
				mag = mag * 10 + d;
		}
	}
	if (i < p->len && t[i] == '.') {
		is_int = false;
		if (++i >= p->len || !is_digit(t[i]))
			return fail(p, i, "invalid number: expected a digit after '.'");
		while (i < p->len && is_digit(t[i]))
			i++;
	}
	if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
		is_int = false;
		i++;
		if (i < p->len && (t[i] == '+' || t[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(t[i]))
			return fail(p, i, "invalid number: expected an exponent");
		while (i < p->len && is_digit(t[i]))
			i++;
	}

	out->type = JSON_NUMBER;
	out->flags = 0;
	out->num.u = 0;
	if (number_double(p, start, i - start, &out->num.d))
		return -1;
	if (is_int) {
		out->flags |= JV_INT;
		if (!overflow)	/* else only the double */
			number_exact(out, neg, mag);
	}
	p->pos = i;
	return 0;
}

static int parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n))
		return fail(p, p->pos, "invalid literal (expected '%s')", word);
	p->pos += n;
	return 0;
}

static int parse_value(struct parser *p, int depth, struct json_value *out);

/* Move the members collected since base from the stack into the arena. */
static struct json_member *collect(struct parser *p, size_t base, size_t *n)
{
	struct json_member *m;

	*n = p->nstack - base;
	p->nstack = base;
	if (!*n)
		return NULL;
	m = arena_alloc(p->doc, *n * sizeof(*m));
	if (m)
		memcpy(m, p->stack + base, *n * sizeof(*m));
	return m;
}

/* p->pos is at '['; depth counts this array. */
static int parse_array(struct parser *p, int depth, struct json_value *out)
{
	size_t base = p->nstack, start = p->pos, n, i;
	struct json_value *items;

	p->pos++;
	skip_ws(p);
	if (peek(p) != ']') {
		for (;;) {
			struct json_value v;

			if (parse_value(p, depth, &v) || push(p, NULL, &v))
				return -1;
			skip_ws(p);
			if (peek(p) == ']')
				break;
			if (peek(p) != ',')
				return fail_expected(p, "',' or ']'");
			p->pos++;
			skip_ws(p);
			if (peek(p) == ']')
				return fail(p, p->pos, "trailing comma in array");
		}
	}
	p->pos++;

	/* Elements are stored without the (NULL) keys of the stack. */
	n = p->nstack - base;
	items = NULL;
	if (n) {
		items = arena_alloc(p->doc, n * sizeof(*items));
		if (!items)
			return fail(p, start, "out of memory");
		for (i = 0; i < n; i++)
			items[i] = p->stack[base + i].val;
	}
	p->nstack = base;
	out->type = JSON_ARRAY;
	out->flags = 0;
	out->arr.items = items;
	out->arr.n = n;
	return 0;
}

/* p->pos is at '{'; depth counts this object. */
static int parse_object(struct parser *p, int depth, struct json_value *out)
{
	size_t base = p->nstack, start = p->pos, n;

	p->pos++;
	skip_ws(p);
	if (peek(p) != '}') {
		for (;;) {
			struct json_value v;
			const char *key;
			size_t klen;

			if (peek(p) != '"')
				return fail_expected(p, "a string key");
			if (parse_string(p, &key, &klen))
				return -1;
			skip_ws(p);
			if (peek(p) != ':')
				return fail_expected(p, "':' after key");
			p->pos++;
			if (parse_value(p, depth, &v) || push(p, key, &v))
				return -1;
			skip_ws(p);
			if (peek(p) == '}')
				break;
			if (peek(p) != ',')
				return fail_expected(p, "',' or '}'");
			p->pos++;
			skip_ws(p);
			if (peek(p) == '}')
				return fail(p, p->pos, "trailing comma in object");
		}
	}
	p->pos++;

	out->type = JSON_OBJECT;
	out->flags = 0;
	out->obj.members = collect(p, base, &n);
	out->obj.n = n;
	if (n && !out->obj.members)
		return fail(p, start, "out of memory");
	return 0;
}

/* depth: containers enclosing this value. */
static int parse_value(struct parser *p, int depth, struct json_value *out)
{
	int c;

	skip_ws(p);
	c = peek(p);
	out->flags = 0;
	switch (c) {
	case '{':
	case '[':
		/* Recursion is bounded by this limit: no stack overflow. */
		if (depth >= JSON_MAX_DEPTH)
			return fail(p, p->pos, "nesting deeper than %d",
				    JSON_MAX_DEPTH);
		if (c == '{')
			return parse_object(p, depth + 1, out);
		return parse_array(p, depth + 1, out);
	case '"':
		out->type = JSON_STRING;
		return parse_string(p, &out->str.s, &out->str.len);
	case 't':
	case 'f':
		out->type = JSON_BOOL;
		out->b = c == 't';
		return parse_literal(p, c == 't' ? "true" : "false");
	case 'n':
		out->type = JSON_NULL;
		return parse_literal(p, "null");
	default:
		if (c == '-' || is_digit(c))
			return parse_number(p, out);
		return fail_expected(p, "a value");
	}
}

struct json_value *json_parse(const char *text, size_t len, char *err,
			      size_t errlen)
{
	struct parser p = {
		.text = text ? text : "",
		.len = text ? len : 0,
		.err = err,
		.errlen = errlen,
	};
	struct json_doc *doc;

	if (err && errlen)
		err[0] = '\0';
	doc = calloc(1, sizeof(*doc));
	if (!doc) {
		fail(&p, 0, "out of memory");
		return NULL;
	}
	p.doc = doc;

	if (p.len >= 3 && !memcmp(p.text, "\xef\xbb\xbf", 3))
		p.pos = 3;
	skip_ws(&p);
	if (p.pos >= p.len) {
		fail(&p, p.pos, "empty input");
		goto err;
	}
	if (parse_value(&p, 0, &doc->root))
		goto err;
	skip_ws(&p);
	if (p.pos < p.len) {
		fail_expected(&p, "end of input after the value");
		goto err;
	}
	free(p.stack);
	doc->root.flags |= JV_ROOT;
	return &doc->root;
err:
	free(p.stack);
	arena_free(doc);
	free(doc);
	return NULL;
}

size_t json_max_file(void)
{
	const char *e = getenv("MMLOCK_TEST_JSON_MAX_FILE");
	unsigned long long v;
	char *end;

	if (e && *e) {
		errno = 0;
		v = strtoull(e, &end, 10);
		if (!errno && !*end && v > 0 && v < JSON_MAX_FILE)
			return v;
	}
	return JSON_MAX_FILE;
}

/*
 * All of f into *bufp (the caller's to free, also on error), *lenp bytes.
 * A pipe is read up to the limit plus one byte, to tell it was over: -EFBIG.
 */
static int read_all(FILE *f, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 64 * 1024, max = json_max_file();
	char *buf = NULL, *nbuf;

	for (;;) {
		if (len == cap || !buf) {
			if (buf)
				cap *= 2;
			if (cap > max + 1)
				cap = max + 1;
			nbuf = realloc(buf, cap);
			if (!nbuf)
				return -ENOMEM;
			*bufp = buf = nbuf;
		}
		len += fread(buf + len, 1, cap - len, f);
		*lenp = len;
		if (ferror(f))
			return errno ? -errno : -EIO;
		if (len > max)
			return -EFBIG;
		if (feof(f))
			return 0;
	}
}

const char *json_max_file_text(char *buf, size_t len)
{
	size_t max = json_max_file();

	if (max % (1 << 20) == 0)
		snprintf(buf, len, "%zu MiB", max >> 20);
	else
		snprintf(buf, len, "%zu bytes", max);
	return buf;
}

static void too_big_msg(char *err, size_t errlen, const char *path)
{
	char lim[32];

	snprintf(err, errlen, "%s: larger than %s", path, json_max_file_text(lim, sizeof(lim)));
}

struct json_value *json_parse_file(const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	struct json_value *v;
	char *buf = NULL, perr[256];
	struct stat st;
	int ret;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		goto err_errno;
	/* A device (/dev/zero) or a directory is never a document: refuse it before reading. */
	if (fstat(fileno(f), &st))
		goto err_errno;
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ?
				 strerror(EISDIR) : "not a regular file");
		goto err_quiet;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > json_max_file())
		goto too_big;
	ret = read_all(f, &buf, &len);
	if (ret == -EFBIG)
		goto too_big;
	if (ret) {
		errno = -ret;
		goto err_errno;
	}
	fclose(f);

	v = json_parse(buf, len, perr, sizeof(perr));
	free(buf);
	if (!v && err && errlen)
		snprintf(err, errlen, "%s: %s", path, perr);
	return v;

too_big:
	errno = EFBIG;
	if (err && errlen)
		too_big_msg(err, errlen, path);
	goto err_quiet;
err_errno:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
err_quiet:
	if (f)
		fclose(f);
	free(buf);
	return NULL;
}

void json_free(struct json_value *v)
{
	struct json_doc *doc;

	/* Inner nodes live in the arena: only a root may be freed. */
	if (!v || !(v->flags & JV_ROOT))
		return;
	doc = (struct json_doc *)((char *)v - offsetof(struct json_doc, root));
	arena_free(doc);
	free(doc);
}

/* ---- DOM access ---- */

enum json_type json_type(const struct json_value *v)
{
	return v ? v->type : JSON_NULL;
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	size_t i;

	if (json_type(obj) != JSON_OBJECT || !key)
		return NULL;
	/* Backwards, so that a repeated key means its last value, as in JS. */
	for (i = obj->obj.n; i-- > 0;) {
		if (!strcmp(obj->obj.members[i].key, key))
			return &obj->obj.members[i].val;
	}
	return NULL;
}

size_t json_len(const struct json_value *v)
{
	switch (json_type(v)) {
	case JSON_ARRAY:
		return v->arr.n;
	case JSON_OBJECT:
		return v->obj.n;
	default:
		return 0;
	}
}

const struct json_value *json_at(const struct json_value *arr, size_t i)
{
	if (json_type(arr) != JSON_ARRAY || i >= arr->arr.n)
		return NULL;
	return &arr->arr.items[i];
}

const char *json_key_at(const struct json_value *obj, size_t i)
{
	if (json_type(obj) != JSON_OBJECT || i >= obj->obj.n)
		return NULL;
	return obj->obj.members[i].key;
}

const struct json_value *json_value_at(const struct json_value *obj, size_t i)
{
	if (json_type(obj) != JSON_OBJECT || i >= obj->obj.n)
		return NULL;
	return &obj->obj.members[i].val;
}

__u64 json_u64(const struct json_value *v, __u64 def)
{
	double d;

	if (json_type(v) != JSON_NUMBER)
		return def;
	if (v->flags & JV_U64)
		return v->num.u;
	/* An integer literal that did not fit: the double would be inexact. */
	if (v->flags & JV_INT)
		return def;
	d = v->num.d;
	if (d >= 0 && d < 18446744073709551616.0 && d == (double)(__u64)d)
		return (__u64)d;
	return def;
}

__s64 json_s64(const struct json_value *v, __s64 def)
{
	double d;

	if (json_type(v) != JSON_NUMBER)
		return def;
	if (v->flags & JV_S64)
		return v->num.s;
	if (v->flags & JV_INT)
		return def;
	d = v->num.d;
	if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
	    d == (double)(__s64)d)
		return (__s64)d;
	return def;
}

double json_double(const struct json_value *v, double def)
{
	return json_type(v) == JSON_NUMBER ? v->num.d : def;
}

bool json_bool(const struct json_value *v, bool def)
{
	return json_type(v) == JSON_BOOL ? v->b : def;
}

const char *json_str(const struct json_value *v, const char *def)
{
	return json_type(v) == JSON_STRING ? v->str.s : def;
}

__u64 json_get_u64(const struct json_value *obj, const char *key, __u64 def)
{
	return json_u64(json_get(obj, key), def);
}

const char *json_get_str(const struct json_value *obj, const char *key,
			 const char *def)
{
	return json_str(json_get(obj, key), def);
}

/* ---- Writer ---- */

/* The first failed write's errno is kept: "No space left on device" beats "I/O error". */
static void jw_fail(struct json_writer *w)
{
	if (!w->errnum)
		w->errnum = errno ?: EIO;
	w->err = true;
}

void jw_init(struct json_writer *w, FILE *f, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->pretty = pretty;
}

static void jw_put(struct json_writer *w, const char *s, size_t n)
{
	if (n && fwrite(s, 1, n, w->f) != n)
		jw_fail(w);
}

static void jw_puts(struct json_writer *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

/* first[] slot of the innermost open container (depth > 0). */
static bool *jw_first(struct json_writer *w)
{
	int d = w->depth < JSON_MAX_DEPTH ? w->depth : JSON_MAX_DEPTH;

	return &w->first[d - 1];
}

static void jw_newline(struct json_writer *w)
{
	int i;

	if (!w->pretty)
		return;
	jw_put(w, "\n", 1);
	for (i = 0; i < w->depth; i++)
		jw_put(w, " ", 1);
}

static void jw_string(struct json_writer *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	jw_put(w, "\"", 1);
	while (*p) {
		size_t n = 1;
		char esc[8];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = *p;
			esc[2] = '\0';
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
		} else if (*p < 0x80 || (n = utf8_seq(p, 4))) {
			p += n;		/* part of the unescaped run */
			continue;
		} else {
			/* Output must be UTF-8: replace the bad byte. */
			strcpy(esc, "\\ufffd");
			n = 1;
		}
		jw_put(w, (const char *)run, p - run);
		jw_puts(w, esc);
		p += n;
		run = p;
	}
	jw_put(w, (const char *)run, p - run);
	jw_put(w, "\"", 1);
}

/* Comma, newline, indentation and key in front of every value. */
static void jw_prefix(struct json_writer *w, const char *key)
{
	bool *first;

	if (w->depth <= 0)
		return;		/* top level: no key, no separator */
	first = jw_first(w);
	if (!*first)
		jw_put(w, ",", 1);
	*first = false;
	jw_newline(w);
	if (key) {
		jw_string(w, key);
		jw_puts(w, w->pretty ? ": " : ":");
	}
}

static void jw_open(struct json_writer *w, const char *key, const char *c)
{
	jw_prefix(w, key);
	jw_put(w, c, 1);
	/* Past the limit keep counting, so begin/end still pair up. */
	if (w->depth >= JSON_MAX_DEPTH)
		w->err = true;
	w->depth++;
	*jw_first(w) = true;
}

static void jw_close(struct json_writer *w, const char *c)
{
	bool empty;

	if (w->depth <= 0) {
		w->err = true;
		return;
	}
	empty = *jw_first(w);
	w->depth--;
	if (!empty)
		jw_newline(w);
	jw_put(w, c, 1);
}

void jw_obj_begin(struct json_writer *w, const char *key)
{
	jw_open(w, key, "{");
}

void jw_obj_end(struct json_writer *w)
{
	jw_close(w, "}");
}

void jw_arr_begin(struct json_writer *w, const char *key)
{
	jw_open(w, key, "[");
}

void jw_arr_end(struct json_writer *w)
{
	jw_close(w, "]");
}

void jw_str(struct json_writer *w, const char *key, const char *val)
{
	jw_prefix(w, key);
	if (val)
		jw_string(w, val);
	else
		jw_puts(w, "null");
}

void jw_u64(struct json_writer *w, const char *key, __u64 val)
{
	jw_prefix(w, key);
	if (fprintf(w->f, "%llu", (unsigned long long)val) < 0)
		jw_fail(w);
}

void jw_s64(struct json_writer *w, const char *key, __s64 val)
{
	jw_prefix(w, key);
	if (fprintf(w->f, "%lld", (long long)val) < 0)
		jw_fail(w);
}

void jw_double(struct json_writer *w, const char *key, double val)
{
	char buf[32];
	int prec;

	jw_prefix(w, key);
	if (!isfinite(val)) {
		jw_puts(w, "null");	/* JSON has no NaN or infinity */
		return;
	}
	/* Fewest digits that read back as the same double. */
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, val);
		if (strtod(buf, NULL) == val)
			break;
	}
	if (prec == 17)
		snprintf(buf, sizeof(buf), "%.17g", val);
	jw_puts(w, buf);
}

void jw_bool(struct json_writer *w, const char *key, bool val)
{
	jw_prefix(w, key);
	jw_puts(w, val ? "true" : "false");
}

void jw_null(struct json_writer *w, const char *key)
{
	jw_prefix(w, key);
	jw_puts(w, "null");
}

int jw_finish(struct json_writer *w)
{
	if (w->depth != 0)
		w->err = true;
	if (w->pretty)
		jw_put(w, "\n", 1);
	if (fflush(w->f) || ferror(w->f))
		jw_fail(w);
	return w->err ? -(w->errnum ?: EIO) : 0;
}
