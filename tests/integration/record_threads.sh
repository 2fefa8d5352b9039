#!/usr/bin/env bash
# [record] Per-thread BPF state follows thread lifetimes. 3000 short-lived
# threads, each doing one uffd ioctl, are all counted, and their states are
# deleted when they exit (a full state map would lose threads: counted, but
# lost). Threads still alive when the recording ends have their in-state
# (hot) ioctl histograms folded in by userspace: counts and histograms agree.
# A thread's name follows exec.
. "$(dirname "$0")/../lib.sh"
need_bpf record_threads || exit 0

cat >"$TMP/threads.py" <<'PY'
import ctypes, fcntl, os, platform, sys, threading
n = int(sys.argv[1])
nr = {"x86_64": 323, "aarch64": 282}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(nr, os.O_CLOEXEC | os.O_NONBLOCK)
if fd < 0:
    sys.exit("userfaultfd: errno %d" % ctypes.get_errno())
UFFDIO_API = 0xC018AA3F          # _IOWR(0xAA, 0x3F, struct uffdio_api)
def one():
    try:                          # the first succeeds; later ones get EINVAL
        fcntl.ioctl(fd, UFFDIO_API, bytearray(b"\xaa" + b"\0" * 23))
    except OSError:
        pass
for _ in range(n):
    t = threading.Thread(target=one)
    t.start()
    t.join()
print("threads", n)
PY

# A thread named before exec is renamed by it (sched_process_exec): a process that
# made a uffd ioctl as python3 and then exec'd sleep is "sleep". Without the exec
# probe (refused, as a control) the old name stays.
cat >"$TMP/execer.py" <<'PY'
import ctypes, fcntl, os, platform, sys, time
nr = {"x86_64": 323, "aarch64": 282}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(nr, os.O_CLOEXEC | os.O_NONBLOCK)
fcntl.ioctl(fd, 0xC018AA3F, bytearray(b"\xaa" + b"\0" * 23))   # UFFDIO_API
time.sleep(0.05)          # switched out: the ioctl is ended and the thread named
os.execv(sys.argv[1], sys.argv[1:])
PY
for ctl in exec control; do
	refuse=; [ $ctl = control ] && refuse=thread_exec_btf,thread_exec_raw
	MMLOCK_REFUSE_ATTACH=$refuse "$MMLOCK" record -q --json "$TMP/$ctl.json" -- \
		python3 "$TMP/execer.py" /bin/sleep 0.2 >/dev/null 2>&1
	check "record of python3 exec'ing sleep exits 0 ($ctl)" [ $? -eq 0 ]
done

"$MMLOCK" record -q --json "$TMP/t.json" -- python3 "$TMP/threads.py" 3000 >"$TMP/t.out" 2>&1
check "record of 3000 short-lived threads exits 0" [ $? -eq 0 ]
"$MMLOCK" record -q -d 1.5 --json "$TMP/l.json" -- \
	"$GCSIM" --gc-threads 2 --no-ui --mutators 0 --duration 6 >"$TMP/l.out" 2>&1
check "record ended while gcsim runs exits 0" [ $? -eq 0 ]

python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
r = json.load(open(d + "/t.json"))
api = [h for t in r["threads"] for h in t["hists"] if h["kind"] == "ioctl" and h["command"] == "UFFDIO_API"]
n = sum(h["count"] for h in api)
res("every thread's UFFDIO_API is counted", n == 3000, "%d of 3000 in %d threads" % (n, len(api)))
res("errors counted (all but the first fail with EINVAL)", sum(h["errors"] for h in api) == 2999,
    str(sum(h["errors"] for h in api)))
res("no state map overflow", r["counters"]["thread_state_map_full"] == 0, str(r["counters"]))
res("exited threads' states were deleted", r["thread_states_at_end"] < 50,
    "%d states left after 3000 threads exited" % r["thread_states_at_end"])

def names(f):
    r = json.load(open(d + "/" + f))
    return [(t["comm"], t["process"]) for t in r["threads"]
            if any(h["kind"] == "ioctl" and h["command"] == "UFFDIO_API" for h in t["hists"])]
res("exec renames a thread: python3 became sleep", names("exec.json") == [("sleep", "sleep")],
    str(names("exec.json")))
res("control without the exec probe keeps the old name", names("control.json") == [("python3", "python3")],
    str(names("control.json")))

l = json.load(open(d + "/l.json"))
res("live threads' states are still there at the end", l["thread_states_at_end"] >= 2, str(l["thread_states_at_end"]))
mv = [(t["comm"], h) for t in l["threads"] for h in t["hists"] if h["kind"] == "ioctl" and h["command"] == "UFFDIO_MOVE"]
res("live GC threads have UFFDIO_MOVE latency", len(mv) >= 2 and all(h["count"] > 100 for _, h in mv),
    str([(c, h["count"]) for c, h in mv]))
for c, h in mv:
    s = sum(b[2] for b in h["hist"])
    res("%s: histogram sums to count" % c, s == h["count"], "%d vs %d" % (s, h["count"]))
    res("%s: p50 <= p99 <= max, mean inside" % c,
        h["p50_ns"] <= h["p99_ns"] <= h["max_ns"] and h["total_ns"] / h["count"] <= h["max_ns"], str(h))
PY

# What every recording must satisfy (tests/invariants.py).
check_invariants "record_threads t" "$TMP/t.json"
check_invariants "record_threads l" "$TMP/l.json"
