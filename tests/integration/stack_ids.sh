#!/usr/bin/env bash
# [record] Stack ids are a 23-bit hash of the frames, so two stacks can share
# one. The BPF side then tries the next ids, and if none is free with the same
# frames it counts a collision and keeps no stack for that wait: a wait is
# never filed under another stack's frames. The test aid MMLOCK_STACK_ID_BITS
# narrows the ids to 2 bits (4 ids) so that collisions are certain, on a
# workload with many distinct stacks (gcsim under reclaim and compaction).
. "$(dirname "$0")/../lib.sh"
need_bpf stack_ids || exit 0

for bits in 23 2; do
	MMLOCK_STACK_ID_BITS=$bits "$MMLOCK" record -q --stack-min 0 --stacks --json "$TMP/s$bits.json" -- \
		"$GCSIM" --gc-threads 4 --duration 3 --pressure all >/dev/null 2>"$TMP/s$bits.err"
	check "record with $bits-bit stack ids exits 0" [ $? -eq 0 ]
done

python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
def stacks(r):
    return [s for t in r["threads"] for s in t["stacks"]]
def distinct(r):
    return {tuple(s["frames"]) for s in stacks(r)}

full = json.load(open(d + "/s23.json"))
res("23-bit ids: no collision", full["counters"]["stack_id_collision"] == 0, str(full["counters"]))
res("23-bit ids: the workload has more distinct stacks than 4 ids", len(distinct(full)) > 4,
    "%d distinct" % len(distinct(full)))

narrow = json.load(open(d + "/s2.json"))
c = narrow["counters"]
res("2-bit ids: collisions counted", c["stack_id_collision"] > 0, str(c))
res("2-bit ids: at most 4 stacks kept", len(distinct(narrow)) <= 4, "%d distinct" % len(distinct(narrow)))
# A lock wait's stack is taken inside contention_end; a D-state stack at
# switch-in, outside any BPF program. Filed under a foreign id, one kind's
# waits would carry the other kind's frames.
def taken_in_contention_end(s):
    return any("contention_end" in f for f in s["frames"][:3])
for r, name in ((full, "23-bit"), (narrow, "2-bit")):
    bad = [s for s in stacks(r) if (s["kind"] == "lock") != taken_in_contention_end(s)]
    res("%s ids: every stack's frames are of its own kind of wait" % name, not bad,
        "; ".join("%s: %s" % (s["kind"], s["frames"][:3]) for s in bad[:3]))
kept = sum(s["count"] for s in stacks(narrow))
res("2-bit ids: waits either keep a stack or count a collision", kept + c["stack_id_collision"] > 100,
    "kept %d, collisions %d" % (kept, c["stack_id_collision"]))
PY
