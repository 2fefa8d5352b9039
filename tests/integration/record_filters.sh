#!/usr/bin/env bash
# [record] filters (-p, -t, -c) keep exactly the threads asked for, and -i
# prints a live summary each interval. A second workload runs meanwhile, so
# a filter that leaked would show its threads.
. "$(dirname "$0")/../lib.sh"
need_bpf record_filters || exit 0

# Two workloads: the target and a decoy (same binary, same thread names).
"$GCSIM" --gc-threads 2 --mutators 0 --duration 6 --start-delay-ms 1000 --json "$TMP/g.json" \
	>"$TMP/g.out" 2>&1 &
target=$!
"$GCSIM" --gc-threads 2 --mutators 0 --duration 6 --start-delay-ms 1000 >"$TMP/decoy.out" 2>&1 &
decoy=$!
sleep 0.5	# threads named (gcsim names them before its start delay)
ui=$(awk '{ print FILENAME, $0 }' /proc/$target/task/*/comm 2>/dev/null | awk '$2 == "ui" { split($1, a, "/"); print a[5] }')

"$MMLOCK" record -q -p $target -d 3 --json "$TMP/p.json" >/dev/null 2>&1 &
p1=$!
"$MMLOCK" record -q -t "$ui" -d 3 --json "$TMP/t.json" >/dev/null 2>&1 &
p2=$!
"$MMLOCK" record -i 1 -c HeapTaskDaemon -d 3.5 --json "$TMP/c.json" >"$TMP/live.txt" 2>&1 &
p3=$!
wait $p1; r1=$?
wait $p2; r2=$?
wait $p3; r3=$?
wait $target $decoy
check "three recorders side by side exit 0 ($r1 $r2 $r3)" [ $((r1 + r2 + r3)) -eq 0 ]
check "-i prints a live summary each interval" [ "$(grep -c '^--- ' "$TMP/live.txt")" -ge 2 ]

python3 - "$TMP" "$target" "$decoy" "$ui" <<'PY'
import json, sys
d, target, decoy, ui = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4] or 0)
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
p = json.load(open(d + "/p.json")); t = json.load(open(d + "/t.json")); c = json.load(open(d + "/c.json"))
pids = {x["pid"] for x in p["threads"]}
res("-p keeps only the target process", pids == {target}, str(pids))
res("-p saw the GC threads", {"HeapTaskDaemon", "GCWorker-1"} <= {x["comm"] for x in p["threads"]},
    str([x["comm"] for x in p["threads"]]))
res("-t keeps only the ui thread", [x["tid"] for x in t["threads"]] == [ui], str([x["tid"] for x in t["threads"]]))
names = {x["comm"] for x in c["threads"]}
res("-c keeps only threads of that name", names == {"HeapTaskDaemon"}, str(names))
res("-c matched the thread in both workloads", {x["pid"] for x in c["threads"]} == {target, decoy},
    str({x["pid"] for x in c["threads"]}))
res("the filters are recorded", p["filter"]["pid"] == target and t["filter"]["tid"] == ui
    and c["filter"]["comm"] == "HeapTaskDaemon", str((p["filter"], t["filter"], c["filter"])))
PY

# What every recording must satisfy (tests/invariants.py).
check_invariants "record_filters p" "$TMP/p.json"
check_invariants "record_filters t" "$TMP/t.json"
check_invariants "record_filters c" "$TMP/c.json"
