#!/usr/bin/env bash
# [overhead] The low-tax mode, `record --uffd-probes none`, on this kernel:
# while it records, none of mmlock's own BPF programs (found by the fds of
# its process, among whatever else is loaded here) is a uffd ioctl probe and
# none of its links is a syscall hook; a default recording beside it has
# them, so the check can fail. The mode still records 4 GC threads'
# anon_vma write waits at uffd_move (from stacks), records no ioctl, says
# so in the report and the JSON, and the JSON reads back strictly.
. "$(dirname "$0")/../lib.sh"
need_bpf record_lowtax || exit 0

# bpf_of PID: "link PROG-NAME TP-NAME" per BPF link PID holds, and "prog NAME" per
# program (names cut at 15 chars). The fds' fdinfo is copied at once (link
# type, tracepoint and prog id are in it); one bpftool call names the programs.
bpf_of() {
	local f
	for f in /proc/"$1"/fdinfo/*; do cat "$f" 2>/dev/null; echo; done >"$TMP/fdinfo"
	python3 - "$TMP/fdinfo" <<'PY'
import json, subprocess, sys
recs = [dict(l.split(":\t", 1) for l in b.splitlines() if ":\t" in l)
        for b in open(sys.argv[1]).read().split("\n\n")]
shown = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                                  text=True).stdout or "[]")
names = {str(p["id"]): p.get("name", "?") for p in shown}
for r in recs:
    if "link_id" in r:
        print("link", names.get(r.get("prog_id"), "?"), r.get("tp_name", r.get("link_type", "?")))
    elif "prog_id" in r:
        print("prog", names.get(r["prog_id"], "gone"))
PY
}

# run NAME ARGS...: record gcsim (4 GC threads moving pages) and list mmlock's links meanwhile.
run() {
	local name=$1
	shift
	"$MMLOCK" record "$@" --json "$TMP/$name.json" -- "$GCSIM" --gc-threads 4 --mutators 0 \
		--no-ui --duration 5 --json "$TMP/$name-g.json" >"$TMP/$name.report" 2>"$TMP/$name.err" &
	local pid=$!
	check_within 60 "$name: mmlock says it records (every probe attached)" \
		grep -q '^mmlock: recording' "$TMP/$name.err"
	bpf_of $pid >"$TMP/$name.bpf"
	sed -n 's/^link //p' "$TMP/$name.bpf" >"$TMP/$name.links"
	sed -n 's/^prog //p' "$TMP/$name.bpf" >"$TMP/$name.progs"
	wait $pid
	echo $? >"$TMP/$name.rc"
}

run auto
echo "auto links: $(tr "\n" ";" <"$TMP/auto.links")"
check "auto: a uffd ioctl probe is attached (the check below can fail)" grep -q '^uffd_ioctl' "$TMP/auto.links"

for try in 1 2 3; do
	run lowtax --uffd-probes none
	grep -q 'anon_vma write · uffd_move' "$TMP/lowtax.report" && break
	echo "try $try: no anon_vma write wait at uffd_move"
done
check "lowtax: record exits 0" [ "$(cat "$TMP/lowtax.rc")" = 0 ]
echo "lowtax links: $(tr '\n' ';' <"$TMP/lowtax.links")"
check "lowtax: no uffd ioctl program loaded" bash -c "! grep -q '^uffd_ioctl' '$TMP/lowtax.progs'"
check "lowtax: no uffd ioctl probe attached" bash -c "! grep -q '^uffd_ioctl' '$TMP/lowtax.links'"
check "lowtax: no syscall hook attached (sys_enter, sys_exit)" \
	bash -c "! grep -qE ' (sys_enter|sys_exit)' '$TMP/lowtax.links'"
check "lowtax: sched and contention programs attached" \
	bash -c "grep -q ' sched_switch$' '$TMP/lowtax.links' && grep -q ' contention_begin$' '$TMP/lowtax.links'"
check "lowtax: anon_vma write waits at uffd_move (try $try of at most 3)" \
	grep -q 'anon_vma write · uffd_move' "$TMP/lowtax.report"
check "lowtax: the report names the mode" grep -q '^low-tax mode (--uffd-probes none)' "$TMP/lowtax.report"
check "lowtax: the report says uffd ioctl latency is not measured" \
	grep -q '^not measured: uffd ioctl latency (uffd_ioctl_exit: left out by --uffd-probes none)' "$TMP/lowtax.report"
check "lowtax: the saved recording reads back (report)" \
	bash -c "'$MMLOCK' report '$TMP/lowtax.json' | grep -q '^low-tax mode'"
check_invariants lowtax "$TMP/lowtax.json"

python3 - "$TMP/lowtax.json" "$TMP/auto.json" <<'PY'
import json, sys
lt, au = (json.load(open(p)) for p in sys.argv[1:3])
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
res("lowtax: JSON says uffd_probes none", lt.get("uffd_probes") == "none", str(lt.get("uffd_probes")))
res("auto: JSON says uffd_probes auto", au.get("uffd_probes") == "auto", str(au.get("uffd_probes")))
pr = {p["name"]: p for p in lt["probes"]}
res("lowtax: both uffd probes have no mechanism, and say why",
    all(pr[n]["mechanism"] == "none" and "--uffd-probes none" in pr[n]["refused"]
        for n in ("uffd_ioctl_enter", "uffd_ioctl_exit")), str([pr.get(n) for n in ("uffd_ioctl_enter", "uffd_ioctl_exit")]))
io = [(t["tid"], h["command"]) for t in lt["threads"] for h in t["hists"] if h["kind"] == "ioctl"]
res("lowtax: no ioctl recorded", not io, str(io[:5]))
ev = [e for e in lt["events"] if e["kind"] == "ioctl"]
res("lowtax: no ioctl event", not ev, str(len(ev)))
aio = sum(h["count"] for t in au["threads"] for h in t["hists"] if h["kind"] == "ioctl")
res("auto: ioctls recorded", aio > 0, "none")
PY

# A recording whose mode is neither name is bad input: exit 2, naming the field.
sed 's/"uffd_probes": *"none"/"uffd_probes": "some"/' "$TMP/lowtax.json" >"$TMP/bad.json"
"$MMLOCK" report "$TMP/bad.json" >/dev/null 2>"$TMP/bad.err"
rc=$?
check "a bad uffd_probes value in a recording: exit 2 ($rc) naming the field" \
	bash -c "[ $rc = 2 ] && grep -q uffd_probes '$TMP/bad.err'"
"$MMLOCK" record --uffd-probes some -d 1 >/dev/null 2>"$TMP/opt.err"
rc=$?
check "--uffd-probes some: exit 2 ($rc), one line" bash -c "[ $rc = 2 ] && [ \$(wc -l <'$TMP/opt.err') = 1 ]"
