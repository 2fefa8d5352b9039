/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small JSON reader (DOM) and streaming writer for mmlock's userspace:
 * recordings saved and read back. No dependencies beyond libc.
 *
 * Reader: json_parse() builds a read-only tree whose nodes, strings and
 * arrays all live in one arena per document; json_free() on the root
 * releases everything at once. Lookups never fail loudly: getters take a
 * default that is returned for a missing (NULL) or mistyped value, so
 * json_get_u64(json_get(root, "a"), "b", 0) needs no checks in between.
 *
 * Writer: struct json_writer emits one value at a time to a FILE *, adding
 * commas, indentation and escapes itself; errors are sticky and reported
 * once by jw_finish().
 *
 * Numbers go through strtod() and printf("%g"), which honour LC_NUMERIC:
 * callers must leave it at "C" (the default unless setlocale() changes it).
 */
#ifndef MMLOCK_JSON_H
#define MMLOCK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#define JSON_MAX_DEPTH	64	/* nesting levels accepted / written */
/* json_parse_file() refuses larger files: parsing costs ~4x the text in memory. */
#define JSON_MAX_FILE	(256 << 20)

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value;	/* opaque DOM node */

/*
 * Parse text[0..len) (need not be NUL-terminated). Returns the root, or
 * NULL with "line L col C: what" in err (if err && errlen). Nesting deeper
 * than JSON_MAX_DEPTH is an error. Strings must be valid UTF-8; \uXXXX
 * escapes (including surrogate pairs) are decoded to UTF-8. Integer
 * literals that fit keep their exact __u64/__s64 value besides the double.
 */
struct json_value *json_parse(const char *text, size_t len, char *err,
			      size_t errlen);
/* Read a whole file and parse it; errors are "path: strerror" or
 * "path: line L col C: what". */
struct json_value *json_parse_file(const char *path, char *err, size_t errlen);
/* Free a document; v must be a root returned by json_parse*() (or NULL). */
void json_free(struct json_value *v);

enum json_type json_type(const struct json_value *v);	/* JSON_NULL for NULL */
/* Member of an object (the last one if the key repeats); NULL if absent or
 * obj is not an object. Linear search. */
const struct json_value *json_get(const struct json_value *obj, const char *key);
size_t json_len(const struct json_value *v);	/* array/object count, else 0 */
/* Array element i; NULL if out of range or not an array. */
const struct json_value *json_at(const struct json_value *arr, size_t i);
/* Object member i, in document order; NULL if out of range / not an object. */
const char *json_key_at(const struct json_value *obj, size_t i);
const struct json_value *json_value_at(const struct json_value *obj, size_t i);

/*
 * Typed getters: def for a NULL or mistyped value. json_u64()/json_s64()
 * accept a number whose value is an integer in range (so 1e3 is 1000), and
 * are exact for integer literals; 1.5 or -1 (for u64) give def.
 * json_str() of a string containing \u0000 stops at the first NUL.
 */
__u64 json_u64(const struct json_value *v, __u64 def);
__s64 json_s64(const struct json_value *v, __s64 def);
double json_double(const struct json_value *v, double def);
bool json_bool(const struct json_value *v, bool def);
const char *json_str(const struct json_value *v, const char *def);
__u64 json_get_u64(const struct json_value *obj, const char *key, __u64 def);
const char *json_get_str(const struct json_value *obj, const char *key,
			 const char *def);

/*
 * Streaming writer. Pass key for members of objects and NULL inside arrays
 * (and for the top-level value). pretty: one member per line, indented by
 * one space per level, with a final newline; otherwise no whitespace.
 * The caller must nest begin/end calls correctly: only depth is tracked.
 * first[i] is true while the container at nesting level i + 1 is empty.
 */
struct json_writer {
	FILE *f;
	int depth;
	bool pretty;
	bool first[JSON_MAX_DEPTH];
	bool err;
	int errnum;	/* errno of the first failed write, 0 if none failed */
};

/*
 * The size json_parse_file() accepts: JSON_MAX_FILE, or the test aid
 * MMLOCK_TEST_JSON_MAX_FILE (bytes, smaller only) so that a test can reach the
 * limit without writing 256 MiB. Writers of files mmlock reads back keep under it.
 */
size_t json_max_file(void);
/* That limit for a message: "256 MiB", or "400000 bytes" when it is no whole MiB. */
const char *json_max_file_text(char *buf, size_t len);

void jw_init(struct json_writer *w, FILE *f, bool pretty);
void jw_obj_begin(struct json_writer *w, const char *key);
void jw_obj_end(struct json_writer *w);
void jw_arr_begin(struct json_writer *w, const char *key);
void jw_arr_end(struct json_writer *w);
/* val NULL writes null; invalid UTF-8 bytes are written as U+FFFD. */
void jw_str(struct json_writer *w, const char *key, const char *val);
void jw_u64(struct json_writer *w, const char *key, __u64 val);
void jw_s64(struct json_writer *w, const char *key, __s64 val);
/* Shortest of %.15g..%.17g that reads back exactly; NaN/inf write null. */
void jw_double(struct json_writer *w, const char *key, double val);
void jw_bool(struct json_writer *w, const char *key, bool val);
void jw_null(struct json_writer *w, const char *key);
/* Flush; 0 if all was written and nesting is balanced, else -errno of the
 * first failed write (-ENOSPC...), or -EIO. */
int jw_finish(struct json_writer *w);

#endif
