#!/usr/bin/env bash
# [record] An independent witness: one gcsim run recorded at once by mmlock
# and by `perf lock record -a` (perf runs mmlock, so its recording covers
# mmlock's whole window: every wait of gcsim's threads falls inside both).
# Per gcsim thread, mmlock's lock-wait count equals perf's within 1% (plus
# the runs of mmlock's contention programs the kernel skipped, which it
# counts), and the total wait of gcsim's threads is close to perf's:
# perf's own recording cost lands inside the waits it times, so mmlock's is
# somewhat lower (README "Accuracy"). perf charges a wait taken in an
# interrupt to the interrupted thread; mmlock files it under tid 0, by
# context (docs/safety.md). So per thread mmlock may count fewer than perf,
# never more, and what it counts fewer is at most tid 0's waits: those of
# interrupts that hit the recorded process. The comparison itself:
# tests/perf_compare.py (shared with tools/heldout.sh).
. "$(dirname "$0")/../lib.sh"
need_bpf perf_lock || exit 0
if ! perf lock contention -h 2>&1 | grep -q -- '--threads'; then
	skip "perf_lock: 'perf lock contention' not available (install linux-perf: tools/install-deps.sh)"
	exit 0
fi

perf lock record -a -o "$TMP/perf.data" -- "$MMLOCK" record -q --json "$TMP/r.json" -- \
	"$GCSIM" --gc-threads 4 --mutators 2 --duration 2 --json "$TMP/g.json" >"$TMP/rec.out" 2>&1
check "perf lock record of mmlock recording gcsim exits 0" [ $? -eq 0 ]
check_invariants "perf_lock recording" "$TMP/r.json"
# Per-thread rows go to stderr; -E: every row, not the top 10.
perf lock contention -i "$TMP/perf.data" -t -E 100000 >"$TMP/perf.out" 2>"$TMP/perf.txt"
check "perf lock contention exits 0" [ $? -eq 0 ]

# tid=name of every gcsim thread: the threads both tools are compared on.
mapfile -t thr < <(python3 -c "import json,sys; [print('%d=%s' % (t['tid'], t['name'])) for t in json.load(open(sys.argv[1]))['threads']]" "$TMP/g.json")
python3 "$TOP/tests/perf_compare.py" --totals "$TMP/perf.txt" "$TMP/r.json" "${thr[@]}"
