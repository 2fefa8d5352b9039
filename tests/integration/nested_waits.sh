#!/usr/bin/env bash
# [truth] A wait in interrupt context that nests inside a running contention
# program loses its begin or its end: the kernel runs a program at most once
# per CPU at a time (prog->active, counted as a recursion miss). mmlock must
# see that and pair nothing wrongly (no phantom wait). The test provokes it:
# loopback TCP traffic contends on socket locks in softirq context, and the
# test aid MMLOCK_TEST_PROG_DELAY_NS keeps the task-context contention
# programs running longer, so that interrupts land inside them. gcsim runs
# beside it, recorded system-wide with every wait kept as an event.
. "$(dirname "$0")/../lib.sh"
need_bpf nested_waits || exit 0

cat >"$TMP/flood.py" <<'PY'
import socket, sys, threading, time
end = time.time() + float(sys.argv[1])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(8); port = srv.getsockname()[1]
def sink(c):
    while time.time() < end and c.recv(65536):
        pass
def acceptor():
    while time.time() < end:
        c, _ = srv.accept(); threading.Thread(target=sink, args=(c,), daemon=True).start()
threading.Thread(target=acceptor, daemon=True).start()
def source():
    s = socket.create_connection(("127.0.0.1", port)); b = b"x" * 1024
    while time.time() < end:
        s.send(b)
ts = [threading.Thread(target=source) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
PY

# How often an interrupt lands in a delayed program depends on how much the
# flood and gcsim run, which a loaded machine (CI's) cuts: a fresh-clone run
# beside a make loop saw none in 5 tries of 30 us at nice 0. So both run at
# nice -10 (ahead of such load), the programs stay 60 us, and up to 10 tries.
tries=0 got=0
while [ $tries -lt 10 ] && [ $got -eq 0 ]; do
	tries=$((tries + 1))
	# Recording first (start-up takes seconds on a loaded machine), then the load.
	MMLOCK_TEST_PROG_DELAY_NS=60000 "$MMLOCK" record -d 6 --min-slice 0 --max-events 5000000 \
		--json "$TMP/r.json" >/dev/null 2>"$TMP/err" &
	rec=$!
	for _ in $(seq 300); do grep -q "recording" "$TMP/err" && break; sleep 0.1; done
	nice -n -10 timeout 20 python3 "$TMP/flood.py" 4 &
	flood=$!
	# At most 300000 pages: each ioctl is an event (~400 bytes of JSON), and
	# the file must stay within what mmlock reads (256 MiB) with none left out.
	nice -n -10 "$GCSIM" --gc-threads 2 --moves 300000 --duration 3 --json "$TMP/g.json" >/dev/null 2>&1
	wait $rec
	rc=$?
	wait $flood
	[ $rc -eq 0 ] || break
	got=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counters"]
print(c["wait_end_skipped"] + c["wait_begin_skipped"])' "$TMP/r.json")
done
echo "nested waits: $got seen in try $tries"
check "record exits 0" [ $rc -eq 0 ]
check "a nested wait lost its begin or end to the kernel's recursion guard (within 10 tries)" [ "$got" -gt 0 ]

python3 - "$TMP/r.json" "$TMP/g.json" <<'PY'
import json, sys
from collections import defaultdict
r = json.load(open(sys.argv[1])); g = json.load(open(sys.argv[2]))
c = r["counters"]
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
skipped = c["wait_end_skipped"] + c["wait_begin_skipped"]
print("counters:", {k: v for k, v in c.items() if v})
res("every skip mmlock saw is one the kernel counted (recursion misses)", c["bpf_prog_misses"] >= skipped,
    "%d skipped, %d misses" % (skipped, c["bpf_prog_misses"]))
res("nothing lost in between", c["spin_event_lost"] + c["events_not_kept"] == 0, str(c))
IRQ = ("softirq", "hardirq", "nmi")
bad = [(t["tid"], h["site"]) for t in r["threads"] for h in t["hists"]
       if h["kind"] == "lock" and (h["site"] in IRQ) != (t["tid"] == 0)]
res("interrupt waits are tid 0's alone", not bad, str(bad[:4]))
res("interrupt waits were recorded", any(t["tid"] == 0 for t in r["threads"]), "no tid 0")
# No phantom: a gcsim thread's wait at a uffd site lies inside one of its ioctls and is no longer.
gtids = {t["tid"] for t in g["threads"]}
ioctls = defaultdict(list)
for e in r["events"]:
    if e["kind"] == "ioctl" and e["tid"] in gtids:
        ioctls[e["tid"]].append((e["ts_ns"], e["ts_ns"] + e["dur_ns"]))
waits = [e for e in r["events"] if e["kind"] == "lock" and e["tid"] in gtids and e["site"].startswith("uffd_")]
outside = [e for e in waits if not any(a <= e["ts_ns"] and e["ts_ns"] + e["dur_ns"] <= b for a, b in ioctls[e["tid"]])]
res("gcsim's waits at uffd sites were recorded", len(waits) > 0, "none")
res("no wait of gcsim's lies outside its ioctl or outlasts it", not outside,
    "%d of %d, e.g. %s" % (len(outside), len(waits), outside[:1]))
PY
