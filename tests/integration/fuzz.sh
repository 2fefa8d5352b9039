#!/usr/bin/env bash
# libFuzzer on the JSON and recording readers (build/<arch>-fuzz, built by
# `make test`) for FUZZ_SECONDS (default 30), from the checked-in corpus
# tests/fuzz/corpus. A crash, leak, UB or timeout fails; `make fuzz` runs longer.
. "$(dirname "$0")/../lib.sh"
fuzzer=$TOP/build/$(basename "$OUT" | sed 's/-.*//')-fuzz/fuzz_recording
if [ ! -x "$fuzzer" ]; then
	skip "fuzz: no $fuzzer (make test builds it; needs clang with -fsanitize=fuzzer)"
	exit 0
fi
secs=${FUZZ_SECONDS:-30}
mkdir -p "$TMP/corpus" "$TMP/artifacts"
# Every checked-in input first, alone: each must run clean.
if ! "$fuzzer" -runs=0 "$TOP"/tests/fuzz/corpus >"$TMP/seed.log" 2>&1; then
	fail "fuzz: the checked-in corpus does not run clean: $(grep -m1 -E 'ERROR|runtime error' "$TMP/seed.log")"
	exit 0
fi
pass "fuzz: $(ls "$TOP"/tests/fuzz/corpus | wc -l) corpus inputs run clean"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$TMP/artifacts/" -dict="$TOP/tests/fuzz/recording.dict" \
	"$TMP/corpus" "$TOP/tests/fuzz/corpus" >"$TMP/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/fuzz.log")
if [ $rc -ne 0 ] || [ -n "$(ls -A "$TMP/artifacts")" ]; then
	fail "fuzz: finding after ${runs:-?} runs: $(grep -m1 -E 'ERROR|runtime error|SUMMARY' "$TMP/fuzz.log")"
	grep -A 12 -m1 -E 'ERROR|runtime error' "$TMP/fuzz.log"
	for a in "$TMP"/artifacts/*; do [ -f "$a" ] && echo "input: $(head -c 400 "$a" | od -c | head -5)"; done
else
	pass "fuzz: ${secs}s, ${runs:-?} runs, no finding"
fi
