#!/usr/bin/env bash
# Runs every test: unit binaries ($OUT/tests/test_*) and integration scripts
# (tests/integration/*.sh). Each prints lines "PASS: name", "FAIL: name: why"
# or "SKIP: name: why"; a program that exits non-zero without printing FAIL
# counts as one failure. Skips are loud, and under CI=true they count as
# failures: on this project's machines every test must run. Except a skip
# that ends in "[optional tool absent]" (tests/lib.sh skip_optional): a tool
# that is no Debian package (Perfetto's trace processor) was not found, and
# the test's other checks ran; it stays a skip, counted and printed.
# Usage: tests/run.sh OUT_DIR [FILTER]
set -u
out=${1:?usage: tests/run.sh OUT_DIR [FILTER]}
filter=${2:-}
export OUT=$(cd "$out" && pwd) TOP=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0 skip=0
log=$(mktemp -d /tmp/mmlock-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

run_one() {
	local name=$1; shift
	local f="$log/$(basename "$name").out" rc
	local t0=$SECONDS
	# The test's $TMP is handed over here at its exit (tests/lib.sh tmp_done).
	local left="$log/left"
	rm -rf "$left"
	MMLOCK_TEST_LEFT=$left "$@" >"$f" 2>&1; rc=$?
	local p f_ s
	p=$(grep -c '^PASS: ' "$f"); f_=$(grep -c '^FAIL: ' "$f"); s=$(grep -c '^SKIP: ' "$f")
	local opt
	opt=$(grep -c '^SKIP: .* \[optional tool absent\]$' "$f")
	if [ "$rc" -ne 0 ] && [ "$f_" -eq 0 ]; then
		echo "FAIL: $name: exited $rc" >>"$f"; f_=1
	fi
	if [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$s" -gt "$opt" ]; then
		sed -i '/ \[optional tool absent\]$/!s/^SKIP: /FAIL: (skipped under CI) /' "$f"
		f_=$((f_ + s - opt)); s=$opt
	fi
	pass=$((pass + p)); fail=$((fail + f_)); skip=$((skip + s))
	printf '%-40s %3d passed %3d failed %3d skipped  %3ds\n' "$name" "$p" "$f_" "$s" $((SECONDS - t0))
	grep -E '^(FAIL|SKIP): ' "$f" | sed 's/^/    /'
	if [ "$f_" -gt 0 ]; then
		# What follows each of the first 3 FAIL lines (a VM test prints the
		# guest's console there, long before its last lines), then the end;
		# the whole output is kept in OUT/test-logs (CI shows only this).
		awk '/^FAIL: / && n < 3 { n++; left = 60; print "    --- output of '"$name"' after FAIL " n " ---" }
		     left > 0 { print "    | " $0; left-- }' "$f"
		echo "    --- output of $name (last 40 lines) ---"
		tail -n 40 "$f" | sed 's/^/    | /'
		mkdir -p "$OUT/test-logs" && cp "$f" "$OUT/test-logs/" &&
			echo "    --- whole output: $OUT/test-logs/$(basename "$f") ---"
		keep_left "$left" "$OUT/test-logs/$(basename "$name").tmp"
	else
		# What an earlier failed run kept is not this run's.
		rm -rf "$OUT/test-logs/$(basename "$name").out" "$OUT/test-logs/$(basename "$name").tmp"
	fi
	rm -rf "$left"
}

# keep_left DIR DEST: a failed test's $TMP (its guest consoles, recordings,
# checker inputs) moved to DEST, without files over 64 MiB (named in DEST/
# TOO-BIG): one failure must not fill the disk.
keep_left() {
	[ -d "$1" ] || return 0
	find "$1" -type f -size +64M -printf '%P %s bytes\n' -delete >"$1/TOO-BIG"
	[ -s "$1/TOO-BIG" ] || rm -f "$1/TOO-BIG"
	rm -rf "$2"
	mv -T "$1" "$2" && echo "    --- its temporary files: $2 ---"
}

for t in "$OUT"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue;; esac
	[ -n "$filter" ] && [[ "$t" != *$filter* ]] && continue
	run_one "$(basename "$t")" "$t"
done
for t in "$TOP"/tests/integration/*.sh; do
	[ -f "$t" ] || continue
	[ -n "$filter" ] && [[ "$t" != *$filter* ]] && continue
	run_one "$(basename "$t" .sh)" bash "$t"
done
echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
