#!/usr/bin/env bash
# [perfetto] A real recording straight to a Perfetto trace: 4 GC threads and
# a "ui" mutator on one VMA. tests/perfetto/check_trace.py checks the trace's
# structure (declared tracks, balanced and nested slices, monotonic time per
# sequence, BOOTTIME clock snapshot) and these expectations:
#   * the ui thread (tid from gcsim's JSON) has a thread track named "ui",
#     and its worst lock-wait/D-state slice is the worst the recording's
#     histograms saw for it (they count every wait; the JSON keeps only the
#     first --max-events events): which lock that is depends on the
#     machine's load, that the trace shows it does not;
#   * one slice per event: the recording JSON's "events" plus the events it
#     did not keep in memory (counters.events_not_kept);
#   * every gcsim thread that has a track carries its tid and name;
#   * ring-buffer drops reach the trace's summary.
# Then `mmlock perfetto` converts the saved JSON into an equivalent trace.
. "$(dirname "$0")/../lib.sh"
T=perfetto_record
need_bpf "$T" || exit 0
if ! command -v protoc >/dev/null; then
	fail "$T: protoc not installed (tools/install-deps.sh installs protobuf-compiler)"; exit 0
fi
PF=$TOP/tests/perfetto
CHK=(python3 "$PF/check_trace.py")

"$MMLOCK" record --perfetto "$TMP/t.pftrace" --json "$TMP/r.json" --min-slice 0 -- \
	"$GCSIM" --gc-threads 4 --duration 3 --json "$TMP/g.json" \
	>"$TMP/report.txt" 2>"$TMP/err.txt"
rc=$?
check "$T: record exits 0" [ $rc -eq 0 ]
if [ ! -s "$TMP/t.pftrace" ] || [ ! -s "$TMP/r.json" ] || [ ! -s "$TMP/g.json" ]; then
	fail "$T: trace, recording or workload JSON missing (rc $rc)"
	sed 's/^/    /' "$TMP/err.txt" | tail -n 20
	exit 0
fi
check "$T: no temp or spool files left" [ -z "$(ls "$TMP" | grep -E 'tmp|spool')" ]

# Expectations from the workload's and the recorder's JSON.
if ! python3 - "$TMP/g.json" "$TMP/r.json" >"$TMP/expect" <<'PY'
import json, sys
g = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
ui = [t["tid"] for t in g["threads"] if t["name"] == "ui"]
if len(ui) != 1:
    sys.exit("gcsim JSON has %d threads named ui" % len(ui))
n = len(r["events"]) + r.get("counters", {}).get("events_not_kept", 0)
c = r.get("counters", {})
lost = c.get("ringbuf_drop", 0) + c.get("events_not_kept", 0)
# The ui's worst wait, from the histograms. Lock waits mmlock takes from
# D-state (vma_lock, folio lock without its probe) have no slice of their own.
worst = max([h["max_ns"] for t in r["threads"] if t["tid"] == ui[0] for h in t["hists"]
             if h["kind"] == "dstate" or (h["kind"] == "lock" and not h["class"].startswith(("vma_lock", "folio")))]
            or [0])
# Events the trace never got (ring buffers overrun): then it can only be <=.
gone = c.get("ringbuf_drop", 0) + c.get("spin_event_lost", 0) + c.get("spin_hist_full", 0)
print(ui[0], n, lost, worst, gone)
PY
then
	fail "$T: cannot read expectations from g.json / r.json"; exit 0
fi
read -r ui nslices lost worst gone <"$TMP/expect"
ww=()
[ "$gone" -eq 0 ] && [ "$worst" -gt 0 ] && ww=(--worst-wait-ns "$ui=$worst")

"${CHK[@]}" "$TMP/t.pftrace" --slices "$nslices" --thread "$ui=ui" \
	"${ww[@]}" --summary >"$TMP/check.out" 2>&1
rc=$?
check "$T: trace structure, ui track, $nslices slices, worst ui wait the recording's (${worst} ns${ww[*]:+, checked})" \
	[ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/    /' "$TMP/check.out" | head -n 20
grep '^{' "$TMP/check.out" >"$TMP/summary.json"

# Thread tracks of gcsim's threads carry gcsim's tids and names (comm: 15 bytes).
python3 - "$TMP/g.json" "$TMP/summary.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
try:
    s = json.load(open(sys.argv[2]))
except ValueError:
    print("FAIL: perfetto_record: no checker summary"); sys.exit(0)
tracks = {tid: name for tid, name in s["threads"]}
bad = []
seen = 0
for t in g["threads"]:
    want = t["name"].encode()[:15].decode(errors="ignore")
    if t["tid"] in tracks:
        seen += 1
        if tracks[t["tid"]] != want:
            bad.append("%d: %r != %r" % (t["tid"], tracks[t["tid"]], want))
ok = not bad and seen > 0
print(("PASS: " if ok else "FAIL: ") + "perfetto_record: %d gcsim thread tracks match tid and name" % seen
      + ("" if ok else ": " + "; ".join(bad)))
PY

decode() { protoc --proto_path="$PF" --decode=perfetto.protos.Trace mini.proto; }
decode <"$TMP/t.pftrace" >"$TMP/t.txt" 2>/dev/null
if [ "${lost:-0}" -gt 0 ]; then
	check "$T: $lost lost events are named in the trace" grep -q "events lost" "$TMP/t.txt"
else
	check "$T: summary present" grep -q '"mmlock recording"' "$TMP/t.txt"
fi
check "$T: ringbuf_drop annotated" grep -q '"ringbuf_drop"' "$TMP/t.txt"
check "$T: histogram tracks present" grep -q 'histograms (whole recording)' "$TMP/t.txt"
# Perfetto's own trace processor: import errors, slices = events, threads,
# nesting, histograms and counters, tracks per thread, and the docs/sql/perfetto
# queries agree with the JSON (tests/perfetto/tp_check.py).
tp_check "$T tp" "$TMP/t.pftrace" --json "$TMP/r.json" --sql-dir "$TOP/docs/sql/perfetto" --stall-thread ui

# The saved recording converts to a trace with the same slices.
"$MMLOCK" perfetto "$TMP/r.json" -o "$TMP/c.pftrace" >"$TMP/conv.txt" 2>&1
check "$T: mmlock perfetto exits 0" [ $? -eq 0 ]
kept=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["events"]))' "$TMP/r.json")
check "$T: converted trace has the JSON's $kept events as slices" \
	"${CHK[@]}" "$TMP/c.pftrace" --thread "$ui=ui" --slices "$kept"
tp_check "$T converted tp" "$TMP/c.pftrace" --json "$TMP/r.json" --slices "$kept"
# What every recording must satisfy (tests/invariants.py).
check_invariants "perfetto_record r" "$TMP/r.json"
exit 0
