#!/usr/bin/env bash
# [perfetto] Blocker chains as Perfetto flows (#20/#21), on a real gcsim run
# recorded with `mmlock record -o r.json --perfetto t.pftrace`, read back
# with Perfetto's own trace processor, against the JSON of the same run:
#   * the `flow` table has one flow per hop of the recording's chains, and
#     the trace's summary says so (chain_flows, none not drawn); no import
#     error;
#   * each flow links the hop's waiter slice (the JSON's waiter_tid,
#     waiter_ts_ns, kind, and its measured length = that event's dur_ns)
#     with a slice on the blocker's thread (the hop's tid), on two
#     different utids;
#   * the blocker's slice is the right one: the next hop's waiter when the
#     chain goes on; else a kept event of the blocker overlapping the
#     waiter's wait, or a "blocking <waiter>: <evidence>" slice inside it;
#   * a flow runs from the blocker's slice when that began first (Perfetto
#     directs every flow from the earlier slice to the later one);
#   * the same holds for `mmlock perfetto r.json` (chains rebuilt on reading).
# A run without a single chain (no stall >= --chain-min) is retried, up to
# 3 runs; then the test fails: gcsim's GC threads always contend here.
. "$(dirname "$0")/../lib.sh"
T=perfetto_flows
need_bpf "$T" || exit 0
find_trace_processor "$T" || exit 0

hops=0
for try in 1 2 3; do
	rm -f "$TMP/r.json" "$TMP/t.pftrace"
	"$MMLOCK" record -o "$TMP/r.json" --perfetto "$TMP/t.pftrace" -- \
		"$GCSIM" --gc-threads 4 --duration 3 --json "$TMP/g.json" \
		>"$TMP/report.txt" 2>"$TMP/err.txt"
	rc=$?
	if [ $rc -ne 0 ] || [ ! -s "$TMP/r.json" ] || [ ! -s "$TMP/t.pftrace" ]; then
		fail "$T: record (run $try) exits $rc or wrote no JSON/trace"
		sed 's/^/    /' "$TMP/err.txt" | tail -n 10
		exit 0
	fi
	hops=$(python3 -c 'import json, sys
print(sum(len(e.get("chain", [])) for e in json.load(open(sys.argv[1]))["events"]))' "$TMP/r.json")
	[ "${hops:-0}" -gt 0 ] && break
	echo "$T: run $try recorded no blocker chain; running again"
done
if [ "${hops:-0}" -eq 0 ]; then
	fail "$T: 3 gcsim runs recorded no blocker chain (no stall >= --chain-min)"
	exit 0
fi
echo "$T: run $try: $hops hops"

"$MMLOCK" perfetto "$TMP/r.json" -o "$TMP/c.pftrace" >"$TMP/conv.txt" 2>&1
check "$T: mmlock perfetto exits 0" [ $? -eq 0 ]

for tr in t c; do
	python3 - "$TRACE_PROCESSOR" "$TMP/$tr.pftrace" "$TMP/r.json" "$T $tr" \
		"$TOP/tests/perfetto" <<'PY' || fail "$T $tr: the checker stopped (exit $?)"
import collections, json, sys
tp, trace, rjson, name, pfdir = sys.argv[1:6]
sys.path.insert(0, pfdir)
from tp_check import run_tp

def res(what, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + "%s: %s" % (name, what) + ("" if ok else ": " + str(why)))

END = """
    SELECT {p}.id AS {p}_id, {p}.ts AS {p}_ts, {p}.dur AS {p}_dur, {p}.category AS {p}_cat,
           {p}.name AS {p}_name, {p}t.utid AS {p}_utid, {p}h.tid AS {p}_tid, {p}p.pid AS {p}_pid,
           COALESCE(EXTRACT_ARG({p}.arg_set_id, 'debug.wait_ns'),
                    EXTRACT_ARG({p}.arg_set_id, 'debug.dur_ns')) AS {p}_meas,
           EXTRACT_ARG({p}.arg_set_id, 'debug.clamped_to_parent') AS {p}_clamped"""
FLOWS = ("SELECT f.id, " + ",".join(END.format(p=p).split("SELECT", 1)[1] for p in ("o", "i")) + """
    FROM flow f JOIN slice o ON o.id = f.slice_out JOIN slice i ON i.id = f.slice_in
    LEFT JOIN thread_track ot ON o.track_id = ot.id LEFT JOIN thread oh ON oh.utid = ot.utid
    LEFT JOIN process op ON op.upid = oh.upid
    LEFT JOIN thread_track it ON i.track_id = it.id LEFT JOIN thread ih ON ih.utid = it.utid
    LEFT JOIN process ip ON ip.upid = ih.upid""")
SUMMARY = """
    SELECT a.key, a.int_value FROM slice s JOIN args a USING (arg_set_id)
    WHERE s.category = 'mmlock.meta' AND a.key IN ('debug.chain_flows', 'debug.chain_flows_not_drawn')"""
STATS = """SELECT name, idx, value FROM stats
    WHERE value > 0 AND severity IN ('error', 'data_loss')"""
try:
    flows, summary, stats = run_tp(tp, trace, [FLOWS, SUMMARY, STATS])
except RuntimeError as e:
    res("trace processor reads the trace", False, e)
    sys.exit(0)

rec = json.load(open(rjson))
CAT = {"lock": "mmlock.lock", "dstate": "mmlock.dstate", "ioctl": "mmlock.ioctl"}
events = {(e["tid"], e["ts_ns"], e["kind"]): e for e in rec["events"]}
hops = []
for e in rec["events"]:
    ch = e.get("chain", [])
    for k, h in enumerate(ch):
        w = events.get((h["waiter_tid"], h["waiter_ts_ns"], h["waiter_kind"]))
        nxt = ch[k + 1] if k + 1 < len(ch) else None
        hops.append(dict(h, k=k, waiter=w, cat=CAT[h["waiter_kind"]],
                         next=(nxt["waiter_tid"], nxt["waiter_ts_ns"], CAT[nxt["waiter_kind"]]) if nxt else None))
res("every hop's waiter is an event of the JSON", all(h["waiter"] for h in hops),
    [h for h in hops if not h["waiter"]][:2])
hops = [h for h in hops if h["waiter"]]
res("no import error", not stats, stats)
sm = {r["key"]: r["int_value"] for r in summary}
res("one flow per hop (%d hops, %d flows)" % (len(hops), len(flows)), len(flows) == len(hops))
res("the summary counts them (chain_flows %s, not drawn %s)" % (
    sm.get("debug.chain_flows"), sm.get("debug.chain_flows_not_drawn")),
    sm.get("debug.chain_flows") == len(hops) and sm.get("debug.chain_flows_not_drawn") == 0, sm)
res("every flow links slices on two different threads",
    bool(flows) and all(f["o_utid"] is not None and f["i_utid"] is not None and f["o_utid"] != f["i_utid"]
        for f in flows), [f for f in flows if f["o_utid"] == f["i_utid"]][:2])

def end(f, p):
    return {k[2:]: v for k, v in f.items() if k.startswith(p + "_")}

# Each hop's flow: one end its waiter slice, the other on the blocker's thread.
want = collections.defaultdict(list)
for h in hops:
    want[(h["waiter_tid"], h["waiter_ts_ns"], h["cat"], h["tid"])].append(h)
followed = {t["tid"]: t["pid"] for t in rec["threads"]}
bad, wrong_dir, wrong_blocker, wrong_pid, matched = [], [], [], [], 0
kinds = collections.Counter()
def blocker_ok(h, b):
    """Is b the blocker slice hop h should start from? Returns (ok, kind)."""
    ev = h["waiter"]
    w_end = ev["ts_ns"] + ev["dur_ns"]
    if h["next"]:
        return (b["tid"], b["ts"], b["cat"]) == h["next"], "its next-hop wait"
    if b["cat"] == "mmlock.chain":
        return (b["name"].startswith("blocking ") and b["name"].endswith(": " + h["evidence"]) and
                ev["ts_ns"] <= b["ts"] and b["ts"] + b["meas" if b["meas"] else "dur"] <= w_end), "a blocking slice"
    return b["ts"] < w_end and b["ts"] + b["meas"] > ev["ts_ns"], "its kept event over the window"

def sides(f):
    """The flow's (waiter, blocker, hop key, blocker is the out end) readings that a hop left has."""
    o, i = end(f, "o"), end(f, "i")
    rd = [(w, b, (w["tid"], w["ts"], w["cat"], b["tid"]), b is o) for w, b in ((i, o), (o, i))]
    return [x for x in rd if want.get(x[2])]

# A flow can read both ways: 493's wait that 488 woke, drawn to 488's ioctl,
# is also 488's ioctl that 493 preempted, drawn from 493's slice. The flows
# with one reading are paired first, so that such a flow does not take the
# hop whose own flow has no other reading (a fresh-clone run: 1 in 2734).
one = {f["id"] for f in flows if len(sides(f)) == 1}
pairs = []
for f in [f for f in flows if f["id"] in one] + [f for f in flows if f["id"] not in one]:
    sd = sides(f)
    if not sd:
        bad.append((end(f, "o"), end(f, "i")))
        continue
    # Of two readings, the one whose blocker slice is a hop's.
    w, b, key, b_out = next((x for x in sd if any(blocker_ok(c, x[1])[0] for c in want[x[2]])), sd[0])
    # One hop (waiter, blocker) can be in several chains, each going on
    # differently (one stops at a cycle, another has a next hop): the flow is
    # paired with a hop of that key whose blocker slice it has, if any (a
    # pop() once paired a chain's flow with another's hop); first one whose
    # next hop it is, as a next-hop wait also overlaps the waiter's window,
    # and taken by a hop that stops there it left a "blocking" slice's flow
    # with only hops that go on.
    cand = want[key]
    verdicts = [blocker_ok(c, b) for c in cand]
    rank = [0 if v[0] and c["next"] else 1 if v[0] else 2 for c, v in zip(cand, verdicts)]
    k = min(range(len(cand)), key=lambda n: (rank[n], n if rank[n] < 2 else -n))
    pairs.append((b_out, w, b, cand.pop(k), verdicts[k]))

for b_out, w, b, h, (ok, kind) in pairs:
    matched += 1
    ev = h["waiter"]
    # A followed blocker is in its own process; one mmlock did not follow, in one of its own (pid = tid).
    if b["pid"] != followed.get(h["tid"], h["pid"] or h["tid"]):
        wrong_pid.append((h["tid"], h["pid"], b["pid"]))
    if w["meas"] != ev["dur_ns"] or (not w["clamped"] and w["dur"] != ev["dur_ns"]):
        bad.append(("waiter length", w, ev["dur_ns"]))
    # Perfetto directs a flow from the slice that began first (ties: the blocker's).
    if b["ts"] <= w["ts"] and not b_out:
        wrong_dir.append((b, w))
    kinds[kind] += 1
    if not ok:
        wrong_blocker.append((h["k"], h["evidence"], b, h["next"]))
res("each flow joins its hop's waiter slice (tid, start, kind, measured length) and "
    "the blocker's thread (%d of %d)" % (matched, len(flows)), not bad and matched == len(hops), bad[:2])
res("the blocker's slice is the hop's (%s)" % ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
    matched > 0 and not wrong_blocker, wrong_blocker[:2])
res("a flow runs from the blocker's slice when it began first", matched > 0 and not wrong_dir,
    wrong_dir[:2])
unf = sum(1 for h in hops if h["tid"] not in followed)
res("each blocker's thread is in its process, or in one of its own (pid = tid) if not followed "
    "(%d such hops)" % unf, matched > 0 and not wrong_pid, wrong_pid[:3])
print("%s: %d hops, %d chains of 2+ hops" % (
    name, len(hops), sum(1 for e in rec["events"] if len(e.get("chain", [])) > 1)))
PY
done
tp_check "$T tp" "$TMP/t.pftrace" --json "$TMP/r.json"
exit 0
