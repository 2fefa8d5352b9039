#!/usr/bin/env bash
# Every recording mmlock writes, mmlock reads back. The reader refuses a JSON
# file over its limit (256 MiB: a parse's memory), and a fresh-clone run of
# lockfree on a loaded machine wrote 282 MB at --min-slice 0 that `mmlock
# report` then refused. The writer now keeps under the limit: the first
# events that fit, the rest counted in events_not_kept, histograms complete.
# The test aid MMLOCK_TEST_JSON_MAX_FILE lowers the limit (reader and writer
# alike) so that a short real recording reaches it.
. "$(dirname "$0")/../lib.sh"
need_bpf record_fits_reader || exit 0
T=record_fits_reader
lim=400000

"$MMLOCK" record -q --min-slice 0 --max-events 5000000 --json "$TMP/full.json" -- \
	"$GCSIM" --gc-threads 2 --mutators 1 --moves 20000 --duration 0 >/dev/null 2>"$TMP/full.err"
check "$T: the unlimited recording exits 0" [ $? -eq 0 ]
full=$(stat -c %s "$TMP/full.json" 2>/dev/null || echo 0)
echo "NOTE: $T: the same kind of recording, unlimited: $full bytes"
check "$T: it is larger than the limit set below ($full > $lim bytes), or the test proves nothing" \
	[ "$full" -gt "$lim" ]

MMLOCK_TEST_JSON_MAX_FILE=$lim "$MMLOCK" record -q --min-slice 0 --max-events 5000000 \
	--json "$TMP/r.json" -- "$GCSIM" --gc-threads 2 --mutators 1 --moves 20000 --duration 0 \
	>/dev/null 2>"$TMP/r.err"
rc=$?
check "$T: record under a $lim-byte limit exits 0 (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || grep mmlock "$TMP/r.err" | head -n 3
size=$(stat -c %s "$TMP/r.json" 2>/dev/null || echo 0)
check "$T: the file fits the limit ($size <= $lim bytes)" eval '[ "$size" -gt 0 ] && [ "$size" -le "$lim" ]'
check "$T: no temp file is left beside it" bash -c '! ls "$1"/r.json.tmp.* >/dev/null 2>&1' _ "$TMP"
MMLOCK_TEST_JSON_MAX_FILE=$lim "$MMLOCK" report "$TMP/r.json" >"$TMP/r.txt" 2>"$TMP/r.rerr"
rc=$?
check "$T: mmlock report reads it back under the same limit (exit $rc: $(head -c 200 "$TMP/r.rerr"))" [ $rc -eq 0 ]
python3 - "$TMP/r.json" "$TMP/full.json" <<'PY'
import json, sys
r, f = (json.load(open(p)) for p in sys.argv[1:3])
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + "record_fits_reader: " + name + ("" if ok else ": " + why))
c = r["counters"]
kept = len(r["events"])
res("events were left out and counted (kept %d, not kept %d)" % (kept, c["events_not_kept"]),
    kept > 0 and c["events_not_kept"] > 0)
# The histograms are complete: every recorded wait or ioctl is counted there,
# kept as an event or not. So the events of a kind never outnumber its counts.
n = {}
for t in r["threads"]:
    for h in t["hists"]:
        n[(t["tid"], h["kind"])] = n.get((t["tid"], h["kind"]), 0) + h["count"]
ev = {}
for e in r["events"]:
    ev[(e["tid"], e["kind"])] = ev.get((e["tid"], e["kind"]), 0) + 1
over = [(k, v, n.get(k, 0)) for k, v in ev.items() if v > n.get(k, 0)]
res("no thread has more kept events of a kind than its histograms count", not over, str(over[:3]))
total = sum(n.values())
res("the histograms count more than the events kept (%d > %d): complete, not cut" % (total, kept),
    total > kept)
PY
"$MMLOCK" report "$TMP/r.json" >/dev/null 2>&1
check "$T: and without the limit set" [ $? -eq 0 ]
