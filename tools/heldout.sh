#!/usr/bin/env bash
# Held-out truth campaign (`make heldout`, issue [truth]): mmlock against an
# independent witness on a workload it was never tuned on.
#
# Each run: `perf lock record -a` runs `mmlock record`, which runs
# tests/heldout/uffd_churn (UFFDIO_MOVE movers on one anon_vma, a
# MADV_PAGEOUT rmap walker, an mprotect splitter: see its header). Then:
#   - every MOVE counted: per mover, mmlock's UFFDIO_MOVE count equals the
#     count uffd_churn kept itself;
#   - per-thread lock waits equal perf lock's within 1% (tests/perf_compare.py:
#     what is compared, and why mmlock may count fewer by tid 0's waits);
#   - zero phantom waits: tests/invariants.py (every wait at a uffd site
#     inside an ioctl of its thread, none longer than it, ...).
# Prints PASS/FAIL lines per run, a per-thread table, and
# "heldout: N passed, N failed". Exit 1 if any check failed.
#
# Usage: tools/heldout.sh [BUILD_DIR]   (default build/$(uname -m short))
# Environment: HELDOUT_RUNS (3), HELDOUT_SECONDS (3), HELDOUT_MOVERS (3),
#   HELDOUT_KEEP=DIR keeps every run's files there.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
case "$(uname -m)" in aarch64) arch=arm64 ;; *) arch=x86 ;; esac
out=${1:-$top/build/$arch}
runs=${HELDOUT_RUNS:-3} secs=${HELDOUT_SECONDS:-3} movers=${HELDOUT_MOVERS:-3}
for v in "$runs" "$movers"; do
	case "$v" in ''|*[!0-9]*|0) echo "heldout: HELDOUT_RUNS and HELDOUT_MOVERS must be positive integers" >&2; exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "heldout: needs root (BPF, perf lock record -a)" >&2; exit 3; }
for b in "$out/mmlock" "$out/heldout/uffd_churn"; do
	[ -x "$b" ] || { echo "heldout: $b is missing (make heldout builds it)" >&2; exit 2; }
done
# Not `| grep -q`: under pipefail, perf's SIGPIPE would fail the test.
[[ "$(perf lock contention -h 2>&1)" == *--threads* ]] ||
	{ echo "heldout: 'perf lock contention' not available (install linux-perf: tools/install-deps.sh)" >&2; exit 3; }
tmp=$(mktemp -d /tmp/mmlock-heldout.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

for i in $(seq 1 "$runs"); do
	d=$tmp/run$i
	mkdir -p "$d"
	echo "== run $i/$runs: uffd_churn --movers $movers --seconds $secs under mmlock under perf lock record -a"
	perf lock record -a -o "$d/perf.data" -- "$out/mmlock" record -q --min-slice 0 --max-events 4000000 --json "$d/r.json" -- \
		"$out/heldout/uffd_churn" --movers "$movers" --seconds "$secs" --json "$d/g.json" \
		>"$d/rec.out" 2>&1
	rc=$?
	perf lock contention -i "$d/perf.data" -t -E 100000 >"$d/perf.out" 2>"$d/perf.txt"
	rc2=$?
	{
		[ $rc -eq 0 ] && echo "PASS: run $i: perf lock record of mmlock of uffd_churn exits 0" ||
			{ echo "FAIL: run $i: exit $rc"; tail -5 "$d/rec.out"; }
		[ $rc2 -eq 0 ] && echo "PASS: run $i: perf lock contention exits 0" ||
			echo "FAIL: run $i: perf lock contention exits $rc2"
		[ $rc -eq 0 ] && python3 "$top/tests/invariants.py" --name "run $i" "$d/r.json"
		[ $rc -eq 0 ] && {
			mapfile -t thr < <(python3 -c "import json,sys; g=json.load(open(sys.argv[1]))
[print('%d=%s' % (t['tid'], t['name'])) for t in g['threads']]
print('%d=churn-walk' % g['walker_tid']); print('%d=churn-split' % g['splitter_tid'])" "$d/g.json")
			python3 "$top/tests/perf_compare.py" --name "run $i" "$d/perf.txt" "$d/r.json" "${thr[@]}"
			# Every MOVE counted: uffd_churn's own per-thread count.
			python3 - "$d" "$i" <<'PY'
import json, sys
d, run = sys.argv[1], sys.argv[2]
rec, gt = json.load(open(d + "/r.json")), json.load(open(d + "/g.json"))
th = {t["tid"]: t["hists"] for t in rec["threads"]}
for t in gt["threads"]:
    got = sum(h["count"] for h in th.get(t["tid"], []) if h["kind"] == "ioctl" and h["command"] == "UFFDIO_MOVE")
    print(("PASS: " if got == t["move"] else "FAIL: ") +
          "run %s: %s: every MOVE counted (own %d, mmlock %d)" % (run, t["name"], t["move"], got))
PY
		}
	} | tee "$d/checks.txt"
	pass=$((pass + $(grep -c '^PASS' "$d/checks.txt")))
	fail=$((fail + $(grep -c '^FAIL' "$d/checks.txt")))
	[ -n "${HELDOUT_KEEP:-}" ] && mkdir -p "$HELDOUT_KEEP" && cp -r "$d" "$HELDOUT_KEEP/"
done
echo "heldout: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
