#!/usr/bin/env bash
# [breakdown] on this kernel: where every uffd ioctl's time went. Two loads:
# gcsim's default and the 4-thread UFFDIO_MOVE stress. For each recording:
#  - every ioctl event's parts sum to its dur_ns, every thread x command's
#    to its total_ns (what the strict reader also checks: report reads it);
#  - for ioctls >= 1 ms the named parts (all but "unexplained") explain
#    >= 95% of their summed duration (the issue's bar);
#  - the events agree with the per-thread sums: no part of the kept events
#    exceeds that part summed over all the thread's ioctls of the command;
#  - the task named as having run instead of a preempted ioctl is real: a
#    gcsim thread under its own tid and name (gcsim's ground truth), or a
#    task seen in /proc during the run under that tid (its name may have
#    changed by an exec since it was switched in);
#  - the report prints the per-thread table and each worst ioctl's parts;
#    each row names the probes that cut it with the mechanisms the
#    recording's probes list gives them; where the rwsem_spin probe did not
#    attach (this host: no fentry, no kprobes) every table says it was not
#    measured and no rwsem_spin part is anywhere in the JSON.
. "$(dirname "$0")/../lib.sh"
need_bpf breakdown || exit 0

# tid and name of every task on the machine, every 50 ms until $TMP/stop exists.
snapshot_tasks() {
	local f
	while [ ! -e "$TMP/stop" ]; do
		for f in /proc/[0-9]*/task/[0-9]*/comm; do
			IFS= read -r c 2>/dev/null <"$f" && { f=${f%/comm}; echo "${f##*/} $c"; }
		done
		sleep 0.05
	done >>"$TMP/tasks.txt"
}

# Every task born or renamed during the run, from the kernel's own ftrace in a
# private tracefs instance: one that lives less than the 50 ms between /proc
# snapshots (a `make` loop's sh, sleep and cc1 preempting gcsim) is seen too.
# Without it, a CI job of short-lived processes next to this test made 7% of
# the preempted time "unseen" (fresh-clone run beside a make loop).
TRACEFS=/sys/kernel/tracing
[ -d "$TRACEFS/instances" ] || TRACEFS=/sys/kernel/debug/tracing
tracefs_sweep "$TRACEFS/instances" mmlock-breakdown
INST=$TRACEFS/instances/mmlock-breakdown-$$
trap 'rmdir "$INST" 2>/dev/null; tmp_done' EXIT
births_start() {
	local e
	mkdir "$INST" 2>/dev/null || { echo "NOTE: breakdown: no tracefs instance: /proc snapshots only"; return; }
	for e in sched/sched_process_fork sched/sched_process_exec task/task_rename; do
		[ -e "$INST/events/$e/enable" ] && echo 1 >"$INST/events/$e/enable"
	done
}
births_stop() {	# "tid comm" of each birth, exec and rename, into tasks.txt
	[ -d "$INST" ] || return
	echo 0 >"$INST/tracing_on"
	# An exec's name is its file's (basename, 15 characters, as the kernel's comm).
	sed -n -e 's/.* child_comm=\(.*\) child_pid=\([0-9]*\).*/\2 C \1/p' \
		-e 's/.* sched_process_exec: filename=\(.*\) pid=\([0-9]*\) .*/\2 E \1/p' \
		-e 's/.* task_rename: pid=\([0-9]*\) oldcomm=.* newcomm=\(.*\) oom_score_adj=.*/\1 C \2/p' \
		"$INST/trace" | awk '{ n = $3; if ($2 == "E") { sub(/.*\//, "", n); n = substr(n, 1, 15) } print $1, n }' \
		>>"$TMP/tasks.txt"
	rmdir "$INST" 2>/dev/null
}

run_load() {
	local name=$1; shift
	rm -f "$TMP/stop" "$TMP/tasks.txt"
	births_start
	snapshot_tasks &
	local snap=$!
	"$MMLOCK" record --json "$TMP/$name.json" -- "$GCSIM" --duration 3 --json "$TMP/$name-truth.json" "$@" \
		>"$TMP/$name.txt" 2>"$TMP/$name.err"
	local rc=$?
	touch "$TMP/stop"
	wait "$snap"
	births_stop
	check "breakdown: $name: record exits 0" [ $rc -eq 0 ]
	[ $rc -eq 0 ] || { tail -n 5 "$TMP/$name.err"; return; }
	check "breakdown: $name: mmlock report reads the recording back" \
		sh -c '"$1" report "$2" >/dev/null' _ "$MMLOCK" "$TMP/$name.json"
	check "breakdown: $name: the report has a 'where the time went' table" \
		grep -q '^  where the time went: UFFDIO_MOVE' "$TMP/$name.txt"
	check "breakdown: $name: each worst ioctl line ends with its unexplained part" \
		awk '/^  worst ioctl:/ { n++; if ($0 !~ /unexplained [0-9.]+ [nmu]?s$/) bad++ }
		     END { exit !(n > 0 && !bad) }' "$TMP/$name.txt"
	python3 - "$name" "$TMP/$name.json" "$TMP/$name-truth.json" "$TMP/tasks.txt" "$TMP/$name.txt" <<'PY' || fail "breakdown: $name: the checker stopped (exit $?)"
import json, re, sys
name, rec, truth, tasks = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), sys.argv[4]
report = open(sys.argv[5]).read().split("\n")
def res(what, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + "breakdown: %s: %s" % (name, what) + ("" if ok else ": " + why))

# Each table row's "probe=mechanism" pairs are the recording's.
mech = {p["name"]: p["mechanism"] for p in rec["probes"]}
rows, wrong, tables, unmeasured = 0, [], 0, 0
for i, line in enumerate(report):
    if line.startswith("  where the time went: "):
        tables += 1
        body = []
        for l in report[i + 1:]:	# the table: its indented lines
            if not l.startswith("    "):
                break
            body.append(l)
        unmeasured += any(l.startswith("    not measured: rwsem_spin (") for l in body)
    m = re.match(r"^    .{32} +[0-9.]+ ms +[0-9.]+%  (.*)$", line)
    if m and m.group(1) != "the remainder":
        rows += 1
        for pair in m.group(1).split():
            probe, _, got = pair.partition("=")
            if mech.get(probe) != got:
                wrong.append(pair)
res("each of %d table rows names its probes with the recording's mechanisms" % rows, rows and not wrong, str(wrong[:3]))
spin = mech.get("rwsem_spin", "absent")
has = [e["tid"] for e in rec["events"] if e["kind"] == "ioctl" and "rwsem_spin" in e["parts"]]
has += [t["tid"] for t in rec["threads"] for h in t["hists"] if h["kind"] == "ioctl" and "rwsem_spin" in h["parts"]]
if spin == "none":
    res("rwsem_spin probe refused here: no rwsem_spin part in the JSON", not has, str(has[:3]))
    res("each of %d tables says rwsem_spin was not measured" % tables, tables and unmeasured == tables,
        "%d of %d" % (unmeasured, tables))
else:
    res("rwsem_spin probe by %s: no table says it was not measured" % spin, unmeasured == 0, str(unmeasured))

ev = [e for e in rec["events"] if e["kind"] == "ioctl"]
res("ioctl events >= 1 ms were kept", len(ev) > 0, "none")
bad = [(e["tid"], e["dur_ns"], sum(e["parts"].values())) for e in ev if sum(e["parts"].values()) != e["dur_ns"]]
res("each of %d ioctl events' parts sum to its dur_ns" % len(ev), not bad, str(bad[:3]))
total = sum(e["dur_ns"] for e in ev)
named = sum(v for e in ev for k, v in e["parts"].items() if k != "unexplained")
share = named / total if total else 0
print("breakdown: %s: %d ioctls >= 1 ms, %.1f ms, named parts %.2f%%, unexplained %.3f ms" %
      (name, len(ev), total / 1e6, 100 * share, (total - named) / 1e6))
res("named parts explain >= 95%% of ioctls >= 1 ms (%.2f%%)" % (100 * share), share >= 0.95,
    "%.2f%%" % (100 * share))

# Per thread x command: parts sum to the total, and hold at least what its kept events hold.
lost = rec["counters"]["ringbuf_drop"] + rec["counters"]["events_not_kept"]
sums, bad = {}, []
for t in rec["threads"]:
    for h in t["hists"]:
        if h["kind"] != "ioctl":
            continue
        if sum(h["parts"].values()) != h["total_ns"]:
            bad.append((t["tid"], h["command"], sum(h["parts"].values()), h["total_ns"]))
        sums[(t["tid"], h["command"])] = h["parts"]
res("each of %d thread x command's parts sum to its total_ns" % len(sums), sums and not bad, str(bad[:3]))
over = []
evsum = {}
for e in ev:
    k = (e["tid"], e["command"])
    for p, v in e["parts"].items():
        evsum.setdefault(k, {}).setdefault(p, 0)
        evsum[k][p] += v
for k, parts in evsum.items():
    h = sums.get(k)
    if h is None:
        over.append((k, "no per-thread sum"))
        continue
    for p, v in parts.items():
        if v > h.get(p, 0):
            over.append((k, p, v, h.get(p, 0)))
res("kept events never hold more of a part than their thread's sum (%d thread x command)" % len(evsum),
    not over, str(over[:3]))
res("no events lost (the comparison above covers them all)", lost == 0, "%d lost" % lost)

# Who ran instead: gcsim's own threads under their own tid and name, others seen in /proc
# (other gcsim instances of other users of this machine too).
gc = {t["tid"]: t["name"] for t in truth["threads"]}
gc[truth["pid"]] = "gcsim"
seen = {}
for line in open(tasks, errors="replace"):
    tid, _, comm = line.rstrip("\n").partition(" ")
    if tid.isdigit():
        seen.setdefault(int(tid), set()).add(comm)
def proc_comm_is(c, comm):
    # /proc shows kworkers as "kworker/u8:1-events" and kernel threads by their
    # full name, of which task->comm keeps 15 characters.
    return c == comm or c.startswith(comm + "-") or (len(comm) == 15 and c.startswith(comm))
wrong, unknown, known_ns, unknown_ns, renamed = [], [], 0, 0, 0
for e in ev:
    by, comm, ns = e["preempted_by_tid"], e["preempted_by_comm"], e["preempted_by_ns"]
    if e["parts"].get("preempted", 0) and not by:
        wrong.append((e["tid"], "preempted, but by no one"))
    if not by:
        continue
    if ns > e["parts"].get("preempted", 0):
        wrong.append((e["tid"], "longest preemption %d above the preempted part" % ns))
    if by in gc:
        if gc[by] != comm:
            wrong.append((by, comm, "is", gc[by]))
        known_ns += ns
    elif by in seen:
        # Under its name, or another: switched in as "bash", it may have exec'd since.
        known_ns += ns
        renamed += not any(proc_comm_is(c, comm) for c in seen[by])
    else:
        unknown.append((by, comm))
        unknown_ns += ns
res("the task that ran instead is named right (gcsim threads: tid and name of the ground truth)",
    not wrong, str(wrong[:3]))
# Seen alive: in a /proc snapshot, or born, exec'd or renamed during the run (ftrace).
res("the task that ran instead was seen alive for >= 95%% of that time (unseen: %s, %d seen under another name)"
    % (unknown[:3], renamed),
    known_ns >= 0.95 * (known_ns + unknown_ns), "%.1f ms of %.1f ms unseen" %
    (unknown_ns / 1e6, (known_ns + unknown_ns) / 1e6))
PY
	check_invariants "breakdown: $name" "$TMP/$name.json"
}

run_load default
run_load move4 --gc-threads 4 --mutators 0 --no-ui

# diff: under each ioctl row, a part's mean per ioctl and share before and
# after, and its change word, as computed here from the two files.
[ -s "$TMP/default.json" ] && [ -s "$TMP/move4.json" ] || exit 0
"$MMLOCK" diff "$TMP/default.json" "$TMP/move4.json" >"$TMP/diff.txt" 2>&1
check "breakdown: diff exits 0" [ $? -eq 0 ]
python3 - "$TMP/default.json" "$TMP/move4.json" "$TMP/diff.txt" <<'PY' || fail "breakdown: diff: the checker stopped (exit $?)"
import json, sys
def res(what, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + "breakdown: diff: " + what + ("" if ok else ": " + why))
LABELS = {"on_cpu": "on CPU", "lock_spin": "lock spin", "interrupted": "interrupted",
          "preempted": "preempted", "runnable": "runnable after wakeup", "unexplained": "unexplained",
          "sleep": "interruptible sleep", "dstate_other": "D-state, no lock"}
def label(p):
    return LABELS.get(p) or "lock sleep " + p[len("lock_sleep_"):].replace("_write", " write").replace("_read", " read")
side = []
for f in sys.argv[1:3]:
    rows = {}
    for t in json.load(open(f))["threads"]:
        for h in t["hists"]:
            if h["kind"] == "ioctl":
                r = rows.setdefault((t["comm"], h["command"]), {"count": 0, "total": 0, "parts": {}})
                r["count"] += h["count"]; r["total"] += h["total_ns"]
                for p, v in h["parts"].items():
                    r["parts"][p] = r["parts"].get(p, 0) + v
    side.append(rows)
def change(b, a):
    if b <= 0: return "new" if a > 0 else "-"
    if a <= 0: return "vanished"
    if a > b * 110 / 100: return "grew"
    if a < b * 90 / 100: return "shrank"
    return "same"
# The diff's rows: "THREAD ioctl COMMAND ..." then part lines until the next row.
got, key = {}, None
for line in open(sys.argv[3]):
    f = line.split()
    if len(f) > 2 and f[1] == "ioctl" and not line.startswith(" "):
        key = (line[:16].strip(), f[2]); got[key] = {}
    elif key and line.startswith(" " * 25) and not line[25:52].startswith("per ioctl"):
        got[key][line[25:52].strip()] = (line[64:70].strip(), line[82:88].strip(), line[90:].strip())
    elif not line.startswith(" "):
        key = None
want = {}
for k in set(side[0]) | set(side[1]):
    b, a = side[0].get(k), side[1].get(k)
    w = {}
    for p in set((b or {"parts": {}})["parts"]) | set((a or {"parts": {}})["parts"]):
        mb = b["parts"].get(p, 0) / b["count"] if b and b["count"] else 0
        ma = a["parts"].get(p, 0) / a["count"] if a and a["count"] else 0
        if not mb and not ma and p != "unexplained":
            continue
        sb = "%.1f%%" % (100.0 * b["parts"].get(p, 0) / b["total"] if b["total"] else 0) if b and b["count"] else "-"
        sa = "%.1f%%" % (100.0 * a["parts"].get(p, 0) / a["total"] if a["total"] else 0) if a and a["count"] else "-"
        w[label(p)] = (sb, sa, change(mb, ma))
    want[k] = w
res("an ioctl row with its parts for each thread name x command (%d)" % len(want),
    set(got) == set(want), "diff %s, files %s" % (sorted(set(got) ^ set(want))[:3], len(want)))
bad = [(k, p, got.get(k, {}).get(p), v) for k, w in want.items() for p, v in w.items() if got.get(k, {}).get(p) != v]
extra = [(k, p) for k, g in got.items() for p in g if p not in want.get(k, {})]
res("each part's shares and change word agree with the two files (%d parts)" % sum(map(len, want.values())),
    not bad and not extra, str((bad + extra)[:3]))
PY
