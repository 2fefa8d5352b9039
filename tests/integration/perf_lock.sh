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
# interrupts that hit the recorded process.
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

python3 - "$TMP" <<'PY'
import json, math, re, sys
d = sys.argv[1]
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
UNIT = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
row = re.compile(r"^\s*(\d+)\s+([\d.]+) (ns|us|ms|s)\s+([\d.]+) (ns|us|ms|s)\s+([\d.]+) (ns|us|ms|s)\s+(\d+)\s+(\S.*)$")
perf = {}
for line in open(d + "/perf.txt"):
    m = row.match(line)
    if m:
        perf[int(m.group(8))] = (int(m.group(1)), float(m.group(2)) * UNIT[m.group(3)])
rec = json.load(open(d + "/r.json"))
gt = json.load(open(d + "/g.json"))
res("perf printed per-thread rows", len(perf) > 0, open(d + "/perf.txt").read()[:300])
# Runs of mmlock's contention programs the kernel skipped: each is a wait mmlock may miss.
misses = rec["counters"]["bpf_prog_misses"]
mm = {t["tid"]: (sum(h["count"] for h in t["hists"] if h["kind"] == "lock"),
                 sum(h["total_ns"] for h in t["hists"] if h["kind"] == "lock")) for t in rec["threads"]}
irq = mm.get(0, (0, 0))[0]
tot_mm = tot_perf = 0
waits = short = 0
for t in gt["threads"]:
    (pc, pt), (mc, mt) = perf.get(t["tid"], (0, 0)), mm.get(t["tid"], (0, 0))
    waits += pc
    tot_mm += mt
    tot_perf += pt
    tol = math.ceil(0.01 * pc) + misses
    short += max(pc - mc, 0)
    res("%s: lock waits, mmlock %d, perf %d (mmlock never above, within 1%% + %d skipped runs + %d interrupt waits)"
        % (t["name"], mc, pc, misses, irq), mc <= pc + tol and pc - mc <= tol + irq, "mmlock %d, perf %d" % (mc, pc))
res("gcsim's threads waited at all (else nothing was compared)", waits > 0, "perf saw no wait")
res("what mmlock counts fewer than perf is interrupt waits (tid 0): %d fewer, %d under tid 0" % (short, irq),
    short <= irq + math.ceil(0.01 * waits) + misses, "more missing than tid 0 explains")
res("total wait of gcsim's threads close to perf's: mmlock %.2f ms, perf %.2f ms" % (tot_mm / 1e6, tot_perf / 1e6),
    0.7 * tot_perf <= tot_mm <= 1.05 * tot_perf, "outside [0.7, 1.05] x perf's")
PY
