// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the JSON parser and the recording reader, then what
 * report / check do with what was read (sort, print, judge), where a reader
 * that lets a malformed recording through would crash.
 * Built by `make fuzz` (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include "lib/json.h"
#include "model/recording.h"
#include "output/recording_json.h"
#include "output/report.h"
#include "model/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct report_opts ro = { .stacks = true, .all_hists = true };
	struct recording rec;
	struct json_value *v;
	char err[512];

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	/* The bare parser, and its getters over whatever came out. */
	v = json_parse((const char *)data, size, err, sizeof(err));
	if (v) {
		json_get_u64(v, "format", 0);
		json_str(json_at(json_get(v, "threads"), 0), NULL);
		json_free(v);
	}
	if (recording_parse_json(&rec, (const char *)data, size, "fuzz", err, sizeof(err)))
		return 0;
	recording_sort(&rec);
	report_print(devnull, &rec, &ro);
	check_recording(&rec, 1000000, devnull);
	recording_free(&rec);
	return 0;
}
