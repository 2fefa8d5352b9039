#!/usr/bin/env bash
# [verify] `diff` and `check` over sets of recordings, on recordings written
# here (no BPF): bad sets give one line and exit 2 with nothing on stdout;
# the exact merge end to end; --max-regression and significance decide the
# exit code; one run a side says it can never be significant; the two-file
# form keeps its table.
. "$(dirname "$0")/../lib.sh"
T=diff_sets_input

# expect NAME CODE GREP CMD...: exit CODE, one stderr line "mmlock: ...GREP...", empty stdout.
expect() {
	local name=$1 code=$2 want=$3; shift 3
	"$@" >"$TMP/stdout" 2>"$TMP/stderr"
	local rc=$?
	if [ $rc -ne "$code" ] || [ "$(grep -c '' "$TMP/stderr")" -ne 1 ] || ! grep -q '^mmlock: ' "$TMP/stderr"; then
		fail "$T: $name: exit $rc (want $code), stderr: $(head -c 300 "$TMP/stderr")"
	elif ! grep -qF -- "$want" "$TMP/stderr"; then
		fail "$T: $name: stderr lacks '$want': $(head -c 300 "$TMP/stderr")"
	elif [ -s "$TMP/stdout" ]; then
		fail "$T: $name: wrote to stdout: $(head -c 200 "$TMP/stdout")"
	else
		pass "$T: $name"
	fi
}

# Recordings: one thread "ui" with one lock row (anon_vma write at uffd_move)
# holding the given waits, bucketed with mmlock's layout (include/mmlock.h).
python3 - "$TMP" <<'PY'
import json, os, sys
d = sys.argv[1]
def slot(v):
    if v < 4: return v, v + 1
    m = v.bit_length() - 1
    lo = (1 << m) + (((v >> (m - 2)) & 3) << (m - 2))
    return lo, lo + (1 << (m - 2))
def rec(path, waits, comm="ui", hist=None, kernel="6.18.0"):
    b = {}
    for w in waits:
        b[slot(w)] = b.get(slot(w), 0) + 1
    h = {"kind": "lock", "class": "anon_vma_write", "site": "uffd_move", "count": len(waits),
         "total_ns": sum(waits), "max_ns": max(waits) if waits else 0,
         "hist": hist if hist is not None else [[lo, hi, n] for (lo, hi), n in sorted(b.items())]}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    json.dump({"tool": "mmlock", "format": 1, "kernel": kernel, "start_ns": 1, "end_ns": 2,
               "threads": [{"tid": 7, "comm": comm, "hists": [h] if waits or hist else []}]}, open(path, "w"))
ms = 1000000
for i in range(5):
    rec("%s/fast/r%d.json" % (d, i), [ms + 1000 * i, 2 * ms, 3 * ms])
    rec("%s/slow/r%d.json" % (d, i), [ms, 10 * ms + 1000 * i, 12 * ms])
    rec("%s/none/r%d.json" % (d, i), [])
# The same samples as two runs and as one: the merged side must be the same.
a = [1500, 70000, 3 * ms, 3 * ms + 5, 31 * ms]
b = [2, 1600, 70001, 4 * ms, 90 * ms, 90 * ms + 7]
rec(d + "/half/a.json", a); rec(d + "/half/b.json", b); rec(d + "/whole/ab.json", a + b)
# Another bucket layout (plain powers of two), and counts that overflow only when merged.
rec(d + "/mixed/a.json", [1500])
rec(d + "/mixed/b.json", [], hist=[[1024, 2048, 1]])
rec(d + "/big/a.json", [], hist=[[1280, 1536, 4294967295]])
rec(d + "/big/b.json", [], hist=[[1280, 1536, 4294967295]])
os.makedirs(d + "/empty"); os.makedirs(d + "/notrec")
open(d + "/notrec/x.json", "w").write('{"frames": 10, "janky": 2}')
open(d + "/text.json", "w").write("not json at all\n")
PY

M=$MMLOCK
expect "mixed bucket layouts" 2 "not a bucket [lo, hi, count] of this histogram layout" \
	"$M" diff "$TMP/mixed" -- "$TMP/fast"
expect "mixed bucket layouts (check)" 2 "$TMP/mixed/b.json: " "$M" check "$TMP/mixed"
expect "an empty directory" 2 "$TMP/empty: no files named *.json" "$M" diff "$TMP/fast" -- "$TMP/empty"
expect "an empty directory (check)" 2 "$TMP/empty: no files named *.json" "$M" check "$TMP/empty"
expect "a JSON file that is not a recording" 2 "$TMP/notrec/x.json: not an mmlock recording" \
	"$M" diff --before "$TMP/fast" --after "$TMP/notrec"
expect "a file that is not JSON" 2 "$TMP/text.json: " "$M" diff "$TMP/fast" -- "$TMP/slow" "$TMP/text.json"
expect "a file that is not a recording (check)" 2 "$TMP/notrec/x.json: not an mmlock recording" \
	"$M" check "$TMP/fast" "$TMP/notrec/x.json"
expect "a missing path" 2 "$TMP/nope: No such file" "$M" diff "$TMP/fast" -- "$TMP/nope"
expect "bucket counts that overflow when merged" 2 "would overflow" "$M" diff "$TMP/big" -- "$TMP/fast"
expect "a run given twice" 2 "same recording" "$M" diff "$TMP/fast" "$TMP/fast/r0.json" -- "$TMP/slow"
expect "nothing after --" 2 "at least one recording on each side" "$M" diff "$TMP/fast" --
expect "--before without --after" 2 "at least one recording on each side" "$M" diff --before "$TMP/fast"
expect "-- and --before at once" 2 "not both" "$M" diff --before "$TMP/fast" "$TMP/slow" -- "$TMP/none"
expect "a bad --alpha" 2 "bad --alpha" "$M" diff --alpha 1.5 "$TMP/fast" -- "$TMP/slow"
expect "a bad --max-failed-runs" 2 "bad --max-failed-runs" "$M" check --max-failed-runs x "$TMP/fast"

# The exact merge, end to end: two runs merged = one file holding all their samples.
"$M" diff --json "$TMP/half" -- "$TMP/whole" >"$TMP/merge.json"
python3 - "$TMP/merge.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["rows"][0]
b, a = r["merged"]["before"], r["merged"]["after"]
ok = b == a and b["count"] == 11
print(("PASS: " if ok else "FAIL: ") + "diff_sets_input: two runs merged bucket by bucket equal one file of all "
      "their samples (count, total, max, p50, p99)" + ("" if ok else ": %s vs %s" % (b, a)))
PY

# Significance and --max-regression decide the exit code.
run_rc() { "$@" >"$TMP/o" 2>"$TMP/e"; echo $?; }
check "$T: 5 fast -> 5 slow runs: the row is worse" grep -qE '^ui +lock +anon_vma write +uffd_move +5/5 -> 5/5 +worse +0.0079' \
	<("$M" diff "$TMP/fast" -- "$TMP/slow")
check "$T: worse, median max 3 ms -> 12 ms, --max-regression 100: exit 1" [ "$(run_rc "$M" diff --max-regression 100 "$TMP/fast" -- "$TMP/slow")" = 1 ]
"$M" diff --json --max-regression 100 "$TMP/fast" -- "$TMP/slow" >"$TMP/reg.json"
check "$T: --json with a regression: result.exit 1, row regression true" python3 -c "
import json; o = json.load(open('$TMP/reg.json')); r = o['rows'][0]
assert o['result']['exit'] == 1 and o['result']['regressions'] == 1 and r['regression'] and r['verdict'] == 'worse'
assert r['per_run']['max_ns']['after'] == [12000000] * 5 and len(r['per_run']['count']['before']) == 5"
check "$T: the same with --max-regression 1000 (4x is not beyond it): exit 0" [ "$(run_rc "$M" diff --max-regression 1000 "$TMP/fast" -- "$TMP/slow")" = 0 ]
check "$T: worse but no --max-regression: exit 0" [ "$(run_rc "$M" diff "$TMP/fast" -- "$TMP/slow")" = 0 ]
check "$T: slow -> fast is better, never a regression: exit 0" [ "$(run_rc "$M" diff --max-regression 0 "$TMP/slow" -- "$TMP/fast")" = 0 ]
check "$T: slow -> none: gone" grep -qE '^ui .* 5/5 -> 0/5 +gone +0.0079 \(count\)' <("$M" diff "$TMP/slow" -- "$TMP/none")
check "$T: none -> slow: new, exit 1 with --max-regression 0" [ "$(run_rc "$M" diff --max-regression 0 "$TMP/none" -- "$TMP/slow")" = 1 ]
check "$T: 3 fast -> 3 slow runs cannot be significant: no change, exit 0" \
	[ "$(run_rc "$M" diff --max-regression 0 "$TMP/fast/r0.json" "$TMP/fast/r1.json" "$TMP/fast/r2.json" -- \
		"$TMP/slow/r0.json" "$TMP/slow/r1.json" "$TMP/slow/r2.json")" = 0 ]
check "$T: ... and the table says why" grep -q 'no row can be significant .* at least 4 runs a side' "$TMP/o"

# One run a side: said to be never significant; the two-file form keeps its table.
"$M" diff "$TMP/fast/r0.json" -- "$TMP/none/r0.json" >"$TMP/n1.txt"
check "$T: one run a side: the output says no row can be significant" grep -q 'with 1 run before and 1 after no row can be significant' "$TMP/n1.txt"
check "$T: one run a side: gone is not claimed" grep -qE '^ui .* 1/1 -> 0/1 +no change +1.0000' "$TMP/n1.txt"
"$M" diff --json "$TMP/fast/r0.json" "$TMP/none/r0.json" >"$TMP/n1.json"
check "$T: two files with --json: a set of one run a side, can_be_significant false" python3 -c "
import json; o = json.load(open('$TMP/n1.json')); assert o['can_be_significant'] is False and o['min_p'] == 1
assert o['rows'][0]['verdict'] == 'no change' and o['before']['runs'] == 1"
"$M" diff "$TMP/fast/r0.json" "$TMP/slow/r0.json" >"$TMP/two.txt"
check "$T: the two-file form prints its table (N BEFORE ... P99 AFTER), no verdicts" sh -c "
grep -q '^THREAD .*N BEFORE .*N AFTER .*MAX BEFORE .*P99 AFTER' '$TMP/two.txt' && ! grep -q VERDICT '$TMP/two.txt' &&
grep -q '^before: $TMP/fast/r0.json (Linux 6.18.0)' '$TMP/two.txt'"
check "$T: the two-file form's --max-regression still works: exit 1" \
	[ "$(run_rc "$M" diff --max-regression 10 "$TMP/fast/r0.json" "$TMP/slow/r0.json")" = 1 ]

# check over a set: per run, and how many failed.
check "$T: check -T 5ms over the slow set: 5 of 5 runs failed, exit 1" sh -c "
\"$M\" check -T 5ms \"$TMP/slow\" >'$TMP/c.txt'; [ \$? = 1 ] && grep -q '^check failed: 5 of 5 runs had a stall >= 5.00 ms' '$TMP/c.txt' &&
grep -q '^worst per run: median 12.00 ms \[12.00 ms - 12.00 ms\] over 5 runs' '$TMP/c.txt'"
check "$T: check -T 5ms over fast + slow with --max-failed-runs 5: passed, exit 0" sh -c "
\"$M\" check -T 5ms --max-failed-runs 5 \"$TMP/fast\" \"$TMP/slow\" >'$TMP/c.txt'; [ \$? = 0 ] &&
grep -q '^check passed: 5 of 10 runs had a stall' '$TMP/c.txt'"
check "$T: check of one file keeps its output" sh -c "
\"$M\" check -T 5ms \"$TMP/slow/r0.json\" >'$TMP/c1.txt'; [ \$? = 1 ] && [ \"\$(tail -n1 '$TMP/c1.txt')\" = 'check failed: 1 stall(s) >= 5.00 ms' ] &&
grep -q '^STALL ui (tid 7)' '$TMP/c1.txt'"
