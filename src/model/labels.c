// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fleet identity of a recording: its id, device and labels. Keys are kept to
 * a charset every engine takes as a column or map key unquoted (DuckDB,
 * ClickHouse, BigQuery); values are free text without control characters.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "lib/ident.h"
#include "lib/util.h"
#include "model/recording.h"

const char *label_key_bad(const char *key)
{
	size_t n = strlen(key);

	if (!n || n >= REC_LABEL_KEY_LEN)
		return "a key is 1 to 63 characters";
	if (!((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z') || *key == '_'))
		return "a key starts with a letter or _";
	for (; *key; key++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *key))
			return "a key is made of A-Z a-z 0-9 _ . -";
	return NULL;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

const char *label_value_bad(const char *value)
{
	if (strlen(value) >= REC_LABEL_VALUE_LEN)
		return "a value is at most 255 bytes";
	return has_control(value) ? "a value has no control characters" : NULL;
}

const char *device_bad(const char *device)
{
	size_t n = strlen(device);

	if (!n || n >= REC_DEVICE_LEN)
		return "a device id is 1 to 127 bytes";
	return has_control(device) ? "a device id has no control characters" : NULL;
}

int label_parse(const char *kv, struct rec_label *l, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '='), *why;
	size_t klen = eq ? (size_t)(eq - kv) : 0;

	if (!eq) {
		snprintf(err, errlen, "bad label '%s' (KEY=VALUE)", kv);
		return -1;
	}
	if (klen >= REC_LABEL_KEY_LEN) {
		snprintf(err, errlen, "bad label '%s': a key is 1 to 63 characters", kv);
		return -1;
	}
	memcpy(l->key, kv, klen);
	l->key[klen] = 0;
	why = label_key_bad(l->key) ?: label_value_bad(eq + 1);
	if (why) {
		snprintf(err, errlen, "bad label '%s': %s", kv, why);
		return -1;
	}
	snprintf(l->value, sizeof(l->value), "%s", eq + 1);
	return 0;
}

int recording_add_label(struct recording *rec, const struct rec_label *l)
{
	size_t i;

	for (i = 0; i < rec->nlabels; i++) {
		int c = strcmp(rec->labels[i].key, l->key);

		if (!c)
			return -EEXIST;
		if (c > 0)
			break;
	}
	if (rec->nlabels >= REC_MAX_LABELS)
		return -E2BIG;
	if (grow_array(&rec->labels, &rec->labels_cap, rec->nlabels + 1, sizeof(*l)))
		return -ENOMEM;
	memmove(&rec->labels[i + 1], &rec->labels[i], (rec->nlabels - i) * sizeof(*l));
	rec->labels[i] = *l;
	rec->nlabels++;
	return 0;
}

int recording_identify(struct recording *rec, const char *device,
		       const struct rec_label *labels, size_t nlabels)
{
	int ret = uuid_random(rec->id);

	if (ret)
		return ret;
	if (device)
		snprintf(rec->device, sizeof(rec->device), "%s", device);
	else
		device_id_default(rec->device, sizeof(rec->device));
	for (size_t i = 0; i < nlabels; i++)
		if ((ret = recording_add_label(rec, &labels[i])))
			return ret;
	return 0;
}

const char *label_str(const struct rec_label *l, char *buf, size_t len)
{
	snprintf(buf, len, "%s=%s", l->key, l->value);
	return buf;
}
