#!/usr/bin/env bash
# [record] filters (-p, -t, -c) keep exactly the threads asked for, and -i
# prints a live summary each interval. A second workload runs meanwhile, so
# a filter that leaked would show its threads. -c accepts a name that runs
# only later (tracer first, application second) and says when none ever ran.
. "$(dirname "$0")/../lib.sh"
need_bpf record_filters || exit 0

# Two workloads: the target and a decoy (same binary, same thread names).
# Each names its threads, says "ready", and starts only when released, once
# all three recorders are attached: loading them can take seconds on a busy
# machine, and a workload that ran meanwhile would leave nothing to record.
mkfifo "$TMP/go1" "$TMP/go2"
"$GCSIM" --gc-threads 2 --mutators 0 --duration 3 --json "$TMP/g.json" \
	--ready-fd 3 --go-fd 4 3>"$TMP/ready1" 4<>"$TMP/go1" >"$TMP/g.out" 2>&1 &
target=$!
"$GCSIM" --gc-threads 2 --mutators 0 --duration 3 \
	--ready-fd 3 --go-fd 4 3>"$TMP/ready2" 4<>"$TMP/go2" >"$TMP/decoy.out" 2>&1 &
decoy=$!
poll_until 10 test -s "$TMP/ready1" -a -s "$TMP/ready2"
ui=$(awk '{ print FILENAME, $0 }' /proc/$target/task/*/comm 2>/dev/null |
	awk '$2 == "ui" { split($1, a, "/"); print a[5] }')

"$MMLOCK" record -p $target -d 8 --json "$TMP/p.json" >/dev/null 2>"$TMP/p.err" &
p1=$!
"$MMLOCK" record -t "$ui" -d 8 --json "$TMP/t.json" >/dev/null 2>"$TMP/t.err" &
p2=$!
"$MMLOCK" record -i 1 -c HeapTaskDaemon -d 8 --json "$TMP/c.json" >"$TMP/live.txt" 2>"$TMP/c.err" &
p3=$!
attached() { grep -q '^mmlock: recording' "$TMP/p.err" && grep -q '^mmlock: recording' "$TMP/t.err" &&
	grep -q '^mmlock: recording' "$TMP/c.err"; }
check_within 30 "three recorders attached" attached
echo g >"$TMP/go1"; echo g >"$TMP/go2"
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
# tid 0 holds waits in interrupts that hit the filtered threads (docs/safety.md): no thread of its own.
for r in (p, t, c):
    r["threads"] = [x for x in r["threads"] if x["tid"] != 0]
pids = {x["pid"] for x in p["threads"]}
res("-p keeps only the target process", pids == {target}, str(pids))
res("-p saw the GC threads", {"HeapTaskDaemon", "GCWorker-1"} <= {x["comm"] for x in p["threads"]},
    str([x["comm"] for x in p["threads"]]))
res("-t keeps only the ui thread", [x["tid"] for x in t["threads"]] == [ui], str([x["tid"] for x in t["threads"]]))
names = {x["comm"] for x in c["threads"]}
res("-c keeps only threads of that name", names == {"HeapTaskDaemon"}, str(names))
# Other gcsim runs on this machine have HeapTaskDaemon threads too: they match as well.
res("-c matched the thread in both workloads", {x["pid"] for x in c["threads"]} >= {target, decoy},
    "%s, want %d and %d" % ({x["pid"] for x in c["threads"]}, target, decoy))
res("the filters are recorded", p["filter"]["pid"] == target and t["filter"]["tid"] == ui
    and c["filter"]["comm"] == "HeapTaskDaemon", str((p["filter"], t["filter"], c["filter"])))
PY

# What every recording must satisfy (tests/invariants.py).
check_invariants "record_filters p" "$TMP/p.json"
check_invariants "record_filters t" "$TMP/t.json"
check_invariants "record_filters c" "$TMP/c.json"

# -c NAME started before NAME runs. The workload runs under a name of its own
# (a copy of gcsim), so nothing else on this machine matches it.
late=mmlk-late-$$ late=${late:0:15}
cp "$GCSIM" "$TMP/$late"
# Stopped by SIGINT once the workload is done (no race with a -d).
"$MMLOCK" record -c "$late" -d 60 --json "$TMP/late.json" >"$TMP/late.out" 2>"$TMP/late.err" &
mp=$!
poll_until 60 grep -q '^mmlock: recording' "$TMP/late.err"
check "-c a name not running yet: says it waits for it" \
	grep -qx "mmlock: no process or thread named '$late' is running yet: waiting for it" "$TMP/late.err"
"$TMP/$late" --gc-threads 2 --duration 1.5 --json "$TMP/late-truth.json" >/dev/null 2>&1
check "the late workload ran" [ -s "$TMP/late-truth.json" ]
kill -INT $mp
wait $mp
check "-c a name that ran later: exit 0" [ $? -eq 0 ]
python3 - "$TMP/late.json" "$TMP/late-truth.json" <<'PY'
import json, sys
rec = json.load(open(sys.argv[1])); gt = json.load(open(sys.argv[2]))
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
pids = {t["pid"] for t in rec["threads"] if t["tid"] != 0}	# tid 0: interrupt waits (docs/safety.md)
res("-c traced the process that started after it, and only it", pids == {gt["pid"]}, "%s, want %d" % (pids, gt["pid"]))
threads = {t["tid"]: t for t in rec["threads"]}
bad = []
for g in gt["threads"]:
    have = {h["command"]: h["count"] for h in threads.get(g["tid"], {"hists": []})["hists"] if h["kind"] == "ioctl"}
    bad += ["%s %s: mmlock %d, gcsim %d" % (g["name"], c, have.get(c, 0), v["count"])
            for c, v in g["ioctls"].items() if have.get(c, 0) != v["count"]]
res("-c lost none of its ioctls (every thread's count equals gcsim's)", not bad, "; ".join(bad))
PY
check "-c a name that ran later: the report has its threads" grep -q "HeapTaskDaemon  *$late" "$TMP/late.out"

# A name that never runs: the recording says so plainly.
never=mmlk-never-$$ never=${never:0:15}
"$MMLOCK" record -c "$never" -d 1 --json "$TMP/never.json" >"$TMP/never.out" 2>"$TMP/never.err"
check "-c a name that never runs: exit 0" [ $? -eq 0 ]
check "-c a name that never runs: says it waits for it" grep -q "'$never' is running yet: waiting for it" "$TMP/never.err"
check "-c a name that never runs: the report says no such thread ran" \
	grep -qx "no thread named '$never' ran during the recording" "$TMP/never.out"
check "-c a name that never runs: the JSON has no threads" \
	python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(bool(r['threads']) or r['filter']['comm'] != sys.argv[2])" \
	"$TMP/never.json" "$never"
check "-c a name that never runs: the JSON says so (filter.comm_seen false)" \
	python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['filter'].get('comm_seen') is not False)" \
	"$TMP/never.json"
"$MMLOCK" report "$TMP/never.json" >"$TMP/never.report" 2>&1
check "-c a name that never runs: mmlock report of the saved file says so too" \
	grep -qx "no thread named '$never' ran during the recording" "$TMP/never.report"

# A name that runs (a copy of sleep) after the start: the report must not say it never ran.
idle=mmlk-idle-$$ idle=${idle:0:15}
cp "$(command -v sleep)" "$TMP/$idle"
"$MMLOCK" record -c "$idle" -d 60 --json "$TMP/idle.json" >"$TMP/idle.out" 2>"$TMP/idle.err" &
mp=$!
poll_until 60 grep -q '^mmlock: recording' "$TMP/idle.err"
"$TMP/$idle" 1
kill -INT $mp
wait $mp
check "-c a name that ran later and slept: exit 0" [ $? -eq 0 ]
check "-c a name that ran: the report does not say it never ran" \
	sh -c "! grep -q \"no thread named '$idle' ran\" '$TMP/idle.out'"
check "-c a name that ran: the JSON says it ran (filter.comm_seen true)" \
	python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['filter'].get('comm_seen') is not True)" \
	"$TMP/idle.json"
# A sleeper in S state usually leaves no data; if it did wait for something, it is listed.
grep -q '^TID ' "$TMP/idle.out" ||
	check "-c a name that ran but waited for nothing: the report says so" \
		grep -q "threads named '$idle' ran, but none waited" "$TMP/idle.out"
