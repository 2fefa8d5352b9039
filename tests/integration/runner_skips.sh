#!/usr/bin/env bash
# tests/run.sh under CI=true: a plain skip counts as a failure, a skip for an
# absent optional tool (tests/lib.sh skip_optional: the line ends in
# "[optional tool absent]") stays a skip; and what a failed test leaves. Run
# on a copy of the runner with tiny tests of its own; no root needed.
. "$(dirname "$0")/../lib.sh"
T=runner_skips
mkdir -p "$TMP/t/tests/integration" "$TMP/out"
cp "$TOP/tests/run.sh" "$TMP/t/tests/"
cp "$TOP/tests/lib.sh" "$TMP/t/tests/"
cat >"$TMP/t/tests/integration/opt.sh" <<'SH'
. "$(dirname "$0")/../lib.sh"
pass "a"
MMLOCK_TRACE_PROCESSOR=none find_trace_processor "b"
exit 0
SH
printf 'echo "SKIP: c: needs root"\n' >"$TMP/t/tests/integration/plain.sh"

CI=true "$TMP/t/tests/run.sh" "$TMP/out" opt >"$TMP/opt.out" 2>&1
check "$T: CI=true: an optional-tool skip passes the run" [ $? -eq 0 ]
check "$T: ... and is still printed and counted as a skip" \
	grep -q '^1 passed, 0 failed, 1 skipped$' "$TMP/opt.out"
check "$T: ... with its reason" grep -q 'SKIP: b: no trace processor .*\[optional tool absent\]$' "$TMP/opt.out"
CI=true "$TMP/t/tests/run.sh" "$TMP/out" plain >"$TMP/plain.out" 2>&1
check "$T: CI=true: a plain skip fails the run" [ $? -ne 0 ]
check "$T: ... counted as a failure" grep -q '^0 passed, 1 failed, 0 skipped$' "$TMP/plain.out"
env -u CI "$TMP/t/tests/run.sh" "$TMP/out" plain >"$TMP/plain2.out" 2>&1	# the suite itself may run under CI=true
check "$T: without CI a plain skip is a skip" grep -q '^0 passed, 0 failed, 1 skipped$' "$TMP/plain2.out"

# A failed test shows what follows its FAIL line even when that is far from
# its end (vm_matrix printed a guest's console there, and CI's log showed only
# the last 40 lines: a boot panic went unread), and its whole output is kept.
cat >"$TMP/t/tests/integration/long.sh" <<'SH'
echo "FAIL: x: guest died"
echo "console: the panic line"
seq 1 100
SH
env -u CI "$TMP/t/tests/run.sh" "$TMP/out" long >"$TMP/long.out" 2>&1
check "$T: a failed test: the line after its FAIL is shown, 100 lines before its end" \
	grep -q '^    | console: the panic line$' "$TMP/long.out"
check "$T: ... and its last lines" grep -q '^    | 100$' "$TMP/long.out"
check "$T: ... and its whole output is kept in OUT/test-logs" \
	grep -q 'the panic line' "$TMP/out/test-logs/long.out"

# A failed test's $TMP is kept in OUT/test-logs/NAME.tmp/, whoever printed its
# FAIL line (here a plain echo, as tests/perfetto/tp_check.py prints its own);
# a passing test's is removed. A VM test's guest consoles live in its $TMP: a
# fresh-clone run's failed vm_dmesg check lost the one that could explain it.
# A file over 64 MiB (sparse here) is not kept, and is named.
cat >"$TMP/t/tests/integration/keep.sh" <<'SH'
. "$(dirname "$0")/../lib.sh"
echo "$TMP" >"$WHERE"
echo "console: the oops" >"$TMP/guest.log"
truncate -s 65M "$TMP/huge.json"
[ -n "${PASS_NOW:-}" ] && { pass "y"; exit 0; }
echo "FAIL: y: the guest's dmesg had a WARNING"
SH
cat >"$TMP/t/tests/integration/passes.sh" <<'SH'
. "$(dirname "$0")/../lib.sh"
echo "$TMP" >"$WHERE"
echo "console" >"$TMP/guest.log"
pass "z"
SH
kept=$TMP/out/test-logs/keep.tmp
WHERE=$TMP/keep.where env -u CI "$TMP/t/tests/run.sh" "$TMP/out" keep >"$TMP/keep.out" 2>&1
check "$T: a failed test's TMP is kept in OUT/test-logs/NAME.tmp" \
	grep -qx 'console: the oops' "$kept/guest.log"
check "$T: ... and named in the output" grep -qF -- "--- its temporary files: $kept ---" "$TMP/keep.out"
check "$T: ... and not left in /tmp" eval '[ -s "$TMP/keep.where" ] && [ ! -e "$(cat "$TMP/keep.where")" ]'
check "$T: ... without its file over 64 MiB, which is named" \
	eval '[ ! -e "$kept/huge.json" ] && grep -q "^huge.json 68157440 bytes$" "$kept/TOO-BIG"'
WHERE=$TMP/passes.where env -u CI "$TMP/t/tests/run.sh" "$TMP/out" passes >"$TMP/passes.out" 2>&1
check "$T: a passing test's TMP is removed, not kept" \
	eval '[ -s "$TMP/passes.where" ] && [ ! -e "$(cat "$TMP/passes.where")" ] && [ ! -e "$TMP/out/test-logs/passes.tmp" ]'
WHERE=$TMP/keep2.where PASS_NOW=1 env -u CI "$TMP/t/tests/run.sh" "$TMP/out" keep >/dev/null 2>&1
check "$T: ... once it passes, what the failed run kept is gone" \
	eval '[ ! -e "$kept" ] && [ ! -e "$TMP/out/test-logs/keep.out" ]'

# A test that runs another lib.sh user (sanitizers runs bad_input): the child
# must not take the parent's place, or a failed parent keeps the child's.
cat >"$TMP/t/tests/integration/parent.sh" <<'SH'
. "$(dirname "$0")/../lib.sh"
echo "the parent's" >"$TMP/parent.log"
printf '. "%s/../lib.sh"\necho x >"$TMP/child.log"\n' "$(dirname "$0")" >"$TMP/child.sh"
OUT=$OUT TOP=$TOP bash "$TMP/child.sh"
echo "FAIL: p: the parent failed"
SH
env -u CI "$TMP/t/tests/run.sh" "$TMP/out" parent >"$TMP/parent.out" 2>&1
check "$T: a failed test that ran a lib.sh user keeps its own TMP, not the child's" \
	eval '[ -s "$TMP/out/test-logs/parent.tmp/parent.log" ] && [ ! -e "$TMP/out/test-logs/parent.tmp/child.log" ]'
exit 0
