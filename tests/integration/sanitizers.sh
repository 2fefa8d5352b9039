#!/usr/bin/env bash
# The userspace under ASan + UBSan (make SAN=1, built by `make test` into
# $OUT-san): the unit tests, the bad-input matrix and the sets of written
# recordings (diff_sets_input.sh) with no finding. Any
# finding is fatal there (-fno-sanitize-recover), so it shows as a failed
# unit test or as a bad-input case with the wrong exit code or more than one
# line on stderr; the reports are searched too.
. "$(dirname "$0")/../lib.sh"
SAN_OUT=${OUT}-san
if [ ! -x "$SAN_OUT/mmlock" ]; then
	skip "sanitizers: no ASan/UBSan build in $SAN_OUT (make SAN=1, or make test)"
	exit 0
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
findings() { grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$1" | head -n 3; }
for t in "$SAN_OUT"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue;; esac
	n=$(basename "$t")
	"$t" >"$TMP/$n.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || [ -n "$(findings "$TMP/$n.log")" ]; then
		fail "sanitizers: $n: exit $rc: $(findings "$TMP/$n.log")"
		tail -n 30 "$TMP/$n.log"
	else
		pass "sanitizers: $n"
	fi
done
# The bad-input matrix, and the sets of written recordings (diff/check over sets).
for b in bad_input diff_sets_input; do
	# Its $TMP kept in ours (tests/lib.sh tmp_done), so a failure here keeps it.
	OUT=$SAN_OUT MMLOCK_TEST_LEFT=$TMP/$b.tmp bash "$TOP/tests/integration/$b.sh" >"$TMP/$b.log" 2>&1
	npass=$(grep -c '^PASS: ' "$TMP/$b.log")
	nfail=$(grep -c '^FAIL: ' "$TMP/$b.log")
	if [ "$nfail" -ne 0 ] || [ -n "$(findings "$TMP/$b.log")" ]; then
		fail "sanitizers: $b: $nfail of $((npass + nfail)) cases failed: $(findings "$TMP/$b.log")"
		grep -E '^FAIL: ' "$TMP/$b.log" | head -n 20
	else
		pass "sanitizers: $b: $npass cases, no finding"
	fi
done
