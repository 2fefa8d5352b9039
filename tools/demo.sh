#!/usr/bin/env bash
# `make demo`: the story mmlock tells, on this machine, in about 20 s.
#  1. An ART-style GC (gcsim) compacts with UFFDIO_MOVE while a ui thread
#     renders frames: mmlock shows the ui waiting for the anon_vma write lock
#     inside UFFDIO_MOVE. If a recording does not show such a wait of >= 1 ms,
#     the demo says so and records again (at most 3 recordings).
#  2. The same workload with UFFDIO_COPY, which takes no anon_vma write lock.
#  3. `mmlock diff` of the two, and a verdict computed from them.
# Usage: tools/demo.sh OUT_DIR   (results go to ./mmlock-demo/, or $MMLOCK_DEMO_DIR)
set -u
out=${1:?usage: tools/demo.sh OUT_DIR}
dir=${MMLOCK_DEMO_DIR:-mmlock-demo}
if [ "$(id -u)" -ne 0 ]; then
	echo "mmlock demo: needs root to load BPF programs (sudo make demo)" >&2
	exit 3
fi
mkdir -p "$dir"
mm=$out/mmlock
# The demo's load (docs/gcsim.md): the GC threads on one CPU, the app's threads
# (ui, mutator) on another, as Android keeps the GC in its background cpuset.
# Unpinned, other load on this machine's CPUs often keeps the GC threads off
# both CPUs at once, and the ui then seldom waits; a ui at nice 0 that maps
# 256 pages per frame loses its optimistic spin on the lock more often than
# one at Android's -10.
cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
first=${cpus%%[-,]*} last=${cpus##*[-,]}
load=(--gc-threads 6 --ui-moves=256 --ui-nice 0)
[ -n "$first" ] && [ "$first" != "$last" ] && load+=(--gc-cpus "$first" --app-cpus "$last")

# record NAME IOCTL SECONDS: record gcsim under mmlock into $dir/NAME.*.
record() {
	"$mm" record -q --json "$dir/$1.json" --perfetto "$dir/$1.pftrace" -- \
		"$out/gcsim" "${load[@]}" --ioctl "$2" --duration "$3" --json "$dir/$1-truth.json" \
		2>"$dir/$1.err" >/dev/null
	local rc=$?
	[ $rc -eq 0 ] || { cat "$dir/$1.err" >&2; echo "mmlock demo: record failed (exit $rc)" >&2; exit $rc; }
}
# The report's header, its thread table and the ui thread's section.
show_ui() {
	"$mm" report "$1" | awk '/^[^ ].* \(tid [0-9]+, / { sec = 1; ui = ($1 == "ui") } !sec || ui' |
		sed 's/^/    /'
}
# The ui's worst anon_vma write wait at uffd_move if >= 1 ms, else nothing.
ui_stall() {
	"$mm" check -T 1ms -c ui "$1" | sed -n 's/^STALL ui .*: lock anon_vma write · uffd_move, worst \(.*\) >= .*/\1/p'
}
# Who blocked the ui's worst anon_vma write wait at uffd_move: its chain (docs/chains.md).
blocked_by() {
	python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ui = {t["tid"] for t in r["threads"] if t["comm"] == "ui"}
w = [e for e in r["events"] if e["tid"] in ui and e["kind"] == "lock" and e["class"] == "anon_vma_write"
     and e["site"] == "uffd_move"]
if not w:
    sys.exit(0)
e = max(w, key=lambda e: e["dur_ns"])
ms = lambda ns: "%.2f ms" % (ns / 1e6)
def label(p):   # "lock_sleep_anon_vma_write" -> "lock sleep anon_vma write", as the report says
    if p.startswith("lock_sleep_"):
        c = p[len("lock_sleep_"):]
        return "lock sleep " + (c[:c.rfind("_")] + " " + c[c.rfind("_") + 1:] if "_" in c else c)
    return {"on_cpu": "on CPU"}.get(p, p.replace("_", " "))
if not e.get("chain"):
    print("   -> who held it is not known for that wait (no owner field, no wakeup seen)")
for k, h in enumerate(e.get("chain") or []):
    say = {"owner": "held by", "waker": "released (woke it) by", "preemptor": "preempted by"}[h["evidence"]]
    what = ""
    if h["parts_from"] != "none":
        rest = "outside uffd ioctls" if h["parts_from"] == "ioctl_clock" else "no wait of its own seen"
        top = sorted(h["parts"].items(), key=lambda kv: -kv[1])[:3]
        what = ": " + ", ".join("%s %s" % (rest if p == "unexplained" else label(p), ms(v))
                                for p, v in top if v >= 5000)
    if h.get("released_by_tid"):
        what += "; then released by %s [%d]" % (h["released_by_comm"], h["released_by_tid"])
    print("   %s-> %s %s [%d]%s" % ("  " * k, say, h["comm"], h["tid"], what))
PY
}
# truth FILE KEY: a number from the ui object of gcsim's ground truth.
truth() { grep -o '"ui": {[^}]*}' "$1" | grep -o "\"$2\": [0-9]*" | grep -o '[0-9]*$'; }

echo "== mmlock demo: gcsim, an ART-style GC, compacts a 64 MiB heap with userfaultfd"
echo "   (gcsim ${load[*]}):"
echo "   6 GC threads, 1 mutator and a ui thread that renders 60 Hz frames, maps 256 pages per"
echo "   frame itself and takes faults. gcsim times every ioctl and frame itself: the ground"
echo "   truth next to mmlock's recording."
echo
echo "== 1. mmlock record -- gcsim --ioctl move   (5 s)"
stall=""
for try in 1 2 3; do
	record move move 5
	stall=$(ui_stall "$dir/move.json")
	[ -n "$stall" ] && break
	echo "   recording $try did not reproduce it: the ui thread had no anon_vma write wait >= 1 ms at uffd_move"
done
show_ui "$dir/move.json"
if [ -n "$stall" ]; then
	echo "   -> reproduced (recording $try): the ui thread waited up to $stall for the anon_vma write lock inside UFFDIO_MOVE"
	blocked_by "$dir/move.json"
else
	echo "   -> NOT reproduced in $try recordings (the ui spun its way past the lock each time;"
	echo "      how load and CPUs change that: docs/gcsim.md, \"The demo's load\")"
fi
echo
echo "== 2. the same workload with --ioctl copy   (4 s)"
record copy copy 4
"$mm" report "$dir/copy.json" | awk '/^[^ ].* \(tid [0-9]+, / { exit } { print "    " $0 }'
echo
echo "== 3. mmlock diff -c ui move.json copy.json   (the ui thread, before = MOVE, after = COPY)"
"$mm" diff -c ui "$dir/move.json" "$dir/copy.json" >"$dir/diff.txt"
sed 's/^/    /' "$dir/diff.txt"
echo

# The verdict, from the diff's rows and gcsim's own frame counts.
row() { awk -v k="$1" -v c="$2" -v s="$3" '$1 == "ui" && $2 == k && index($0, c) && $0 ~ (" " s " ")' "$dir/diff.txt"; }
av=$(row lock "anon_vma write" uffd_move)
av_before=$(echo "$av" | awk '{ print ($6 == "" ? 0 : $6) }')
av_after=$(awk '$1 == "ui" && $2 == "lock" && $3 == "anon_vma" && $4 == "write" && $5 ~ /^uffd/ { n += $7 }
	END { print n + 0 }' "$dir/diff.txt")
av_max=$(echo "$av" | awk '{ print ($8 == "" ? "" : $8 " " $9) }')
io_move=$(row ioctl UFFDIO_MOVE uffd_move | awk '{ print $7 " " $8 }')
io_copy=$(row ioctl UFFDIO_COPY uffd_copy | awk '{ print $9 " " $10 }')
fm=$(truth "$dir/move-truth.json" frames) jm=$(truth "$dir/move-truth.json" janky)
fc=$(truth "$dir/copy-truth.json" frames) jc=$(truth "$dir/copy-truth.json" janky)
echo "== verdict"
if [ "${av_before:-0}" -gt 0 ]; then
	echo "   With UFFDIO_MOVE the ui thread waited ${av_before} time$([ "$av_before" = 1 ] || echo s) for the anon_vma write lock inside"
	echo "   UFFDIO_MOVE, the worst wait ${av_max}$([ -n "$stall" ] || echo ' (under 1 ms: no stall this time)');" \
		"its worst UFFDIO_MOVE took ${io_move}."
else
	echo "   With UFFDIO_MOVE the ui thread never waited for the anon_vma write lock in this run."
fi
if [ "${av_after:-0}" -eq 0 ]; then
	echo "   With UFFDIO_COPY it never waited for it (COPY takes no anon_vma write lock); its worst"
	echo "   UFFDIO_COPY took ${io_copy}."
else
	echo "   With UFFDIO_COPY it still waited ${av_after} time$([ "$av_after" = 1 ] || echo s) for it in a uffd ioctl: unexpected, look at"
	echo "   mmlock report -s $dir/copy.json."
fi
echo "   gcsim's own count of frames over the 16.7 ms budget: ${jm:-?} of ${fm:-?} with MOVE, ${jc:-?} of ${fc:-?} with COPY"
echo "   (frames also miss for other reasons: faults, preemption by other load)."
echo
echo "Saved in $dir/: move.json, copy.json (mmlock report / check / diff), move.pftrace and"
echo "copy.pftrace (open in https://ui.perfetto.dev), *-truth.json (gcsim's own timings)."
exit 0
