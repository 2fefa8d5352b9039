#!/usr/bin/env bash
# [ladder] Failures at attach time, on this kernel. MMLOCK_REFUSE_ATTACH makes
# named programs fail to attach as a kernel would; the real fallback programs
# then load and attach (--mode tracepoint: the same programs on kernels with
# fentry). A refused tp_btf exit hook falls back to the syscalls tracepoint
# and still counts every ioctl; the begin half of a pair whose end got nothing
# is not attached (it would leave ioctls and waits open and mislabel later
# waits), an end whose begin got nothing is detached; nothing attachable is a
# one-line error with no output file.
. "$(dirname "$0")/../lib.sh"
need_bpf ladder_attach || exit 0

run() {	# run NAME REFUSED: record 1 GC thread for 1 s with those attaches refused
	MMLOCK_REFUSE_ATTACH=$2 "$MMLOCK" record --mode tracepoint -v -q --json "$TMP/$1.json" -- \
		"$GCSIM" --gc-threads 1 --no-ui --mutators 0 --duration 1 --json "$TMP/$1.g.json" \
		>"$TMP/$1.out" 2>"$TMP/$1.err"
	check "$1: record exits 0" [ $? -eq 0 ]
}
run mixed uffd_ioctl_exit_btf
run noexit uffd_ioctl_exit_btf,uffd_ioctl_exit
# Each contention probe has a preempt-count and a stack-position (_sp) program per mechanism.
run nobegin contention_begin_btf,contention_begin_btf_sp,contention_begin_raw,contention_begin_raw_sp
run noend contention_end_btf,contention_end_btf_sp,contention_end_raw,contention_end_raw_sp
"$MMLOCK" report "$TMP/noexit.json" >"$TMP/noexit.report" 2>&1
check "noexit: the report says uffd ioctl latency was not measured" \
	grep -q "^not measured: uffd ioctl latency (uffd_ioctl_exit: " "$TMP/noexit.report"
"$MMLOCK" report "$TMP/noend.json" >"$TMP/noend.report" 2>&1
check "noend: the report says lock waits were not measured" \
	grep -q "^not measured: lock waits (contention_end: " "$TMP/noend.report"
"$MMLOCK" report "$TMP/mixed.json" >"$TMP/mixed.report" 2>&1
# But the rwsem_spin part: --mode tracepoint allows no fentry/kprobe (nor does this host).
check "mixed: the report claims nothing unmeasured but rwsem_spin" \
	bash -c "! grep 'not measured' '$TMP/mixed.report' | grep -v '^    not measured: rwsem_spin (rwsem optimistic spin, left in on CPU: '"
check "mixed: the report says rwsem_spin was not measured, and why" \
	grep -q "^    not measured: rwsem_spin (rwsem optimistic spin, left in on CPU: fentry: not allowed by --mode" "$TMP/mixed.report"
check "noexit: verbose log says the enter hook was not attached" \
	grep -q "probe uffd_ioctl_enter: not attached: uffd_ioctl_exit did not attach" "$TMP/noexit.err"
check "nobegin: verbose log says contention_end was detached again" \
	grep -q "probe contention_end: tp_btf detached: contention_begin did not attach" "$TMP/nobegin.err"

python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
def load(n):
    return json.load(open(d + "/" + n + ".json")), json.load(open(d + "/" + n + ".g.json"))
def probes(r):
    return {p["name"]: p for p in r["probes"]}
def moves(r, g):
    gc = [t for t in g["threads"] if t["role"] == "gc"][0]
    got = sum(h["count"] for t in r["threads"] if t["tid"] == gc["tid"]
              for h in t["hists"] if h["kind"] == "ioctl" and h["command"] == "UFFDIO_MOVE")
    return got, gc["ioctls"]["UFFDIO_MOVE"]["count"]

r, g = load("mixed")
p = probes(r)
res("mixed: exit fell back to the syscalls tracepoint", p["uffd_ioctl_exit"]["mechanism"] == "tracepoint",
    str(p["uffd_ioctl_exit"]))
res("mixed: the refusal is recorded", "MMLOCK_REFUSE_ATTACH" in p["uffd_ioctl_exit"]["refused"],
    p["uffd_ioctl_exit"]["refused"])
res("mixed: enter kept tp_btf", p["uffd_ioctl_enter"]["mechanism"] == "tp_btf", str(p["uffd_ioctl_enter"]))
got, want = moves(r, g)
res("mixed: every UFFDIO_MOVE counted", got == want and want > 1000, "mmlock %d, workload %d" % (got, want))

r, g = load("noexit")
p = probes(r)
res("noexit: exit has no mechanism", p["uffd_ioctl_exit"]["mechanism"] == "none", str(p["uffd_ioctl_exit"]))
res("noexit: its enter half was not attached", p["uffd_ioctl_enter"]["mechanism"] == "none"
    and "not attached: uffd_ioctl_exit did not attach" in p["uffd_ioctl_enter"]["refused"],
    str(p["uffd_ioctl_enter"]))
got, want = moves(r, g)
res("noexit: no ioctl latency is claimed", got == 0, "%d ioctls counted" % got)
res("noexit: the rest still records", p["sched_switch"]["mechanism"] != "none"
    and p["contention_end"]["mechanism"] != "none", str(p["sched_switch"]))

r, g = load("nobegin")
p = probes(r)
res("nobegin: contention_end detached with its begin", p["contention_end"]["mechanism"] == "none"
    and "then detached: contention_begin did not attach" in p["contention_end"]["refused"]
    and p["contention_begin"]["mechanism"] == "none", str(p["contention_end"]))
res("nobegin: no lock waits claimed", not any(h["kind"] == "lock" for t in r["threads"] for h in t["hists"]),
    "lock hists present")
got, want = moves(r, g)
res("nobegin: ioctls still counted", got == want, "mmlock %d, workload %d" % (got, want))

r, g = load("noend")
p = probes(r)
res("noend: contention_begin not attached", p["contention_begin"]["mechanism"] == "none"
    and "not attached: contention_end did not attach" in p["contention_begin"]["refused"],
    str(p["contention_begin"]))
res("noend: no lock waits claimed", not any(h["kind"] == "lock" for t in r["threads"] for h in t["hists"]),
    "lock hists present")
res("noend: ioctl latency still recorded", moves(r, g)[0] == moves(r, g)[1], str(moves(r, g)))
PY

# Nothing attachable: every candidate of every probe refused.
all=$(grep -o '"[a-z_]*"' "$TOP/src/record/ladder.c" | tr -d '"' | grep -E '_(btf|raw|btf_sp|raw_sp|fentry|fexit|kprobe|kretprobe)$|^uffd_ioctl_(enter|exit)$' | sort -u | paste -sd,)
MMLOCK_REFUSE_ATTACH=$all "$MMLOCK" record -q --json "$TMP/none.json" -d 1 >"$TMP/none.out" 2>"$TMP/none.err"
rc=$?
check "nothing attachable: non-zero exit" [ $rc -ne 0 ]
check "nothing attachable: one-line error" [ "$(wc -l <"$TMP/none.err")" -eq 1 ]
check "nothing attachable: error names it" grep -q "no probe could be attached" "$TMP/none.err"
check "nothing attachable: no JSON left" [ ! -e "$TMP/none.json" ]
check "nothing attachable: no temp file left" [ -z "$(ls "$TMP" | grep -i tmp)" ]
