#!/usr/bin/env bash
# [breakdown] the on-CPU sampler (--sample-hz, bpf/sampler.bpf.c) on this kernel,
# with gcsim's default load (4 GC threads moving pages, a ui, a mutator):
#  - samples are taken for the MOVE threads and filed under their ioctls: each
#    sample names an ioctl of its own thread (a thread x command that has its
#    sums), every sample filed under a kept ioctl event lies inside it, and the
#    counts per event and per thread x command are those of the samples;
#  - every filed sample's stack is non-empty and symbolized (func+0xoff);
#  - the samples agree with the breakdown: samples / hz estimates the on-CPU
#    parts (on_cpu + lock_spin + interrupted) of the ioctls (within
#    4 sqrt(n) + 4 samples: a sampling estimate);
#  - lost and stackless samples are counted, the report says so and shows
#    "on CPU in:" under the MOVE breakdown;
#  - --sample-hz 0 takes none; a refused attach records without samples and
#    says why, once; a bad --sample-hz exits 2 with one line.
# Which functions show up is this machine's business: never asserted.
. "$(dirname "$0")/../lib.sh"
need_bpf sampler || exit 0

# --min-slice 100us: more kept ioctls, so that more samples are filed under events;
# 499 Hz: enough samples to compare with the breakdown (the default, 99, below).
"$MMLOCK" record --min-slice 100us --sample-hz 499 --json "$TMP/s.json" -- "$GCSIM" --duration 3 --json "$TMP/truth.json" \
	>"$TMP/s.txt" 2>"$TMP/s.err"
rc=$?
check "sampler: record exits 0" [ $rc -eq 0 ]
if [ $rc -eq 0 ]; then
	check "sampler: mmlock report reads the recording back" \
		sh -c '"$1" report "$2" >/dev/null' _ "$MMLOCK" "$TMP/s.json"
	check "sampler: the report's header says what the sampler took" \
		grep -q '^on-CPU samples: 499 Hz on [0-9]* CPUs, [0-9]* taken inside uffd ioctls, [0-9]* filed' "$TMP/s.txt"
	check "sampler: the report shows 'on CPU in:' under a UFFDIO_MOVE breakdown" \
		awk '/^  where the time went: UFFDIO_MOVE/ { m = 1; next } /^  [^ ]/ { m = 0 }
		     m && /^    on CPU in: .*%.*\([0-9]+ samples?\)$/ { n++ } END { exit !n }' "$TMP/s.txt"
	python3 - "$TMP/s.json" "$TMP/truth.json" <<'PY' || fail "sampler: the checker stopped (exit $?)"
import json, re, sys
rec, truth = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def res(what, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + "sampler: " + what + ("" if ok else ": " + why))
sm, cs = rec["sampler"], rec["cpu_samples"]
online = open("/sys/devices/system/cpu/online").read().strip()
ncpu = sum(int(b) - int(a) + 1 for a, _, b in (r.partition("-") if "-" in r else (r, "", r) for r in online.split(",")))
res("attached at 499 Hz to the %d online CPUs" % ncpu,
    sm["attached"] and sm["hz"] == 499 and sm["cpus"] == ncpu, str(sm))
res("the lost and stackless samples are counted (%d lost, %d without a stack)" % (sm["lost"], sm["no_stack"]),
    "lost" in sm and "no_stack" in sm and sm["samples"] >= sm["filed"] and
    sm["samples"] - sm["filed"] <= sm["lost"] + sm["no_stack"], str(sm))
res("the kept samples are the filed ones, bounded (%d kept, %d not)" % (len(cs), sm["not_kept"]),
    len(cs) + sm["not_kept"] == sm["filed"], "%d + %d != %d" % (len(cs), sm["not_kept"], sm["filed"]))
movers = {t["tid"] for t in truth["threads"] if t["ioctls"].get("UFFDIO_MOVE", {}).get("count")}
moved = {s["tid"] for s in cs if s["command"] == "UFFDIO_MOVE"}
res("samples were taken for the MOVE threads (%d of %d)" % (len(moved & movers), len(movers)),
    moved & movers, "samples of tids %s, movers %s" % (sorted(moved), sorted(movers)))
# A kernel symbol may begin with a dot: kallsyms lists asm-local labels such
# as ".slowpath" (inside __raw_callee_save___pv_queued_spin_unlock, a PV
# spinlock's unlock), where a fresh-clone run's sample rightly stopped. A raw
# address (0x...) or an empty frame is what "unsymbolized" means.
sym = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.$]*\+0x[0-9a-f]+$")
unsym = [(s["tid"], f) for s in cs for f in s["stack"] if not sym.match(f)]
res("every filed sample's stack is non-empty and symbolized (%d frames)" % sum(len(s["stack"]) for s in cs),
    cs and all(s["stack"] for s in cs) and not unsym, "empty: %d, unsymbolized: %s" %
    (sum(not s["stack"] for s in cs), unsym[:3]))
# Each sample belongs to an ioctl of its own thread; the counts are the samples'.
hists = {(t["tid"], h["command"]): h for t in rec["threads"] for h in t["hists"] if h["kind"] == "ioctl"}
orphan = [(s["tid"], s["command"]) for s in cs if (s["tid"], s["command"]) not in hists]
res("each sample is of a thread x command that has ioctl sums", not orphan, str(orphan[:3]))
want = {}
for s in cs:
    want[(s["tid"], s["command"])] = want.get((s["tid"], s["command"]), 0) + 1
if sm["not_kept"] == 0:
    got = {k: h["oncpu_samples"] for k, h in hists.items() if h.get("oncpu_samples")}
    res("per thread x command, oncpu_samples counts its samples (%d)" % len(want), got == want,
        "%s vs %s" % (sorted(got.items())[:3], sorted(want.items())[:3]))
tops = [(k, h) for k, h in hists.items() if h.get("oncpu_samples")]
res("each thread x command's oncpu_top is sorted and within its samples",
    all(sum(f["samples"] for f in h["oncpu_top"]) <= h["oncpu_samples"] and
        [f["samples"] for f in h["oncpu_top"]] == sorted((f["samples"] for f in h["oncpu_top"]), reverse=True)
        for _, h in tops), "")
ev = {(e["tid"], e["ts_ns"]): e for e in rec["events"] if e["kind"] == "ioctl"}
filed = [s for s in cs if (s["tid"], s["ioctl_ts_ns"]) in ev]
outside = [(s["tid"], s["ts_ns"], s["ioctl_ts_ns"]) for s in filed
           if not (ev[(s["tid"], s["ioctl_ts_ns"])]["ts_ns"] <= s["ts_ns"] <=
                   ev[(s["tid"], s["ioctl_ts_ns"])]["ts_ns"] + ev[(s["tid"], s["ioctl_ts_ns"])]["dur_ns"])]
res("every sample filed under a kept ioctl lies inside it (%d samples in %d events)" %
    (len(filed), len({(s["tid"], s["ioctl_ts_ns"]) for s in filed})), not outside, str(outside[:3]))
per_ev = {}
for s in filed:
    per_ev[(s["tid"], s["ioctl_ts_ns"])] = per_ev.get((s["tid"], s["ioctl_ts_ns"]), 0) + 1
got_ev = {k: e["oncpu_samples"] for k, e in ev.items() if e.get("oncpu_samples")}
res("each kept ioctl's oncpu_samples counts the samples taken in it", got_ev == per_ev,
    "%s vs %s" % (sorted(got_ev.items())[:3], sorted(per_ev.items())[:3]))
# A sample taken >= min_slice into its ioctl names an ioctl that lasted that long: kept.
lost_ev = rec["counters"]["ringbuf_drop"] + rec["counters"]["events_not_kept"]
late = [s for s in cs if s["ts_ns"] - s["ioctl_ts_ns"] >= rec["min_slice_ns"]]
unfiled = [(s["tid"], s["ts_ns"], s["ioctl_ts_ns"]) for s in late if (s["tid"], s["ioctl_ts_ns"]) not in ev]
res("every sample taken >= --min-slice into its ioctl is filed under that kept ioctl (%d)" % len(late),
    not unfiled or lost_ev, "%d of %d unfiled: %s" % (len(unfiled), len(late), unfiled[:3]))
# No sample lies further into its ioctl than the thread's longest ioctl of that command.
toolong = [(s["tid"], s["ts_ns"] - s["ioctl_ts_ns"], hists[(s["tid"], s["command"])]["max_ns"]) for s in cs
           if (s["tid"], s["command"]) in hists and
           not 0 <= s["ts_ns"] - s["ioctl_ts_ns"] <= hists[(s["tid"], s["command"])]["max_ns"]]
res("no sample lies outside the longest ioctl of its thread x command", not toolong, str(toolong[:3]))
wrongcmd = [(s["tid"], s["command"], ev[(s["tid"], s["ioctl_ts_ns"])]["command"]) for s in filed
            if s["command"] != ev[(s["tid"], s["ioctl_ts_ns"])]["command"]]
res("a sample names the command of the ioctl it is filed under", not wrongcmd, str(wrongcmd[:3]))
# Samples against the breakdown: n samples at hz estimate n / hz of on-CPU time.
oncpu = sum(h["parts"].get(p, 0) for h in hists.values() for p in ("on_cpu", "lock_spin", "interrupted"))
expect = oncpu / 1e9 * sm["hz"]
n = sum(h.get("oncpu_samples", 0) for h in hists.values())
print("sampler: %d samples filed, %.0f expected from %.1f ms on CPU inside ioctls" % (n, expect, oncpu / 1e6))
bound = 4 * expect ** 0.5 + 4
res("the samples agree with the on-CPU parts (%d vs %.0f, within %.0f)" % (n, expect, bound),
    expect - bound <= n + sm["lost"] + sm["no_stack"] and n <= expect + bound, "")
PY
	check_invariants "sampler" "$TMP/s.json"
fi

# Perfetto: each kept sample is a PerfSample on its thread whose interned
# callstack is the sample's stack (function names, root first), and the
# trace passes check_trace.py's sequence and interning rules. Where Perfetto's
# trace processor is at hand (MMLOCK_TRACE_PROCESSOR, or /work/shared/tools),
# it imports them all into perf_sample, with no error or data-loss stat.
"$MMLOCK" perfetto "$TMP/s.json" -o "$TMP/s.pftrace" >/dev/null 2>"$TMP/pf.err"
check "sampler: perfetto: converts the recording" [ -s "$TMP/s.pftrace" ]
if ! command -v protoc >/dev/null; then
	fail "sampler: perfetto: protoc not installed (tools/install-deps.sh installs protobuf-compiler)"
elif [ -s "$TMP/s.pftrace" ]; then
	check "sampler: perfetto: the trace passes check_trace.py" \
		python3 "$TOP/tests/perfetto/check_trace.py" "$TMP/s.pftrace"
	python3 - "$TOP/tests/perfetto" "$TMP/s.pftrace" "$TMP/s.json" <<'PY' || fail "sampler: perfetto: the checker stopped"
import json, sys
sys.path.insert(0, sys.argv[1])
import check_trace as ct
trace = ct.parse_text(ct.decode(sys.argv[2], sys.argv[1] + "/mini.proto"))
rec = json.load(open(sys.argv[3]))
names, frames, stacks, got = {}, {}, {}, []
for p in trace.get("packet", []):
    for d in p.get("interned_data", []):
        for f in d.get("function_names", []):
            names[ct.one(f, "iid")] = ct.one(f, "str")
        for f in d.get("frames", []):
            frames[ct.one(f, "iid")] = names.get(ct.one(f, "function_name_id"))
        for c in d.get("callstacks", []):
            stacks[ct.one(c, "iid")] = [frames.get(i) for i in c.get("frame_ids", [])]
    for s in p.get("perf_sample", []):
        got.append((ct.one(p, "timestamp"), ct.one(s, "pid"), ct.one(s, "tid"),
                    stacks.get(ct.one(s, "callstack_iid"))))
want = [(s["ts_ns"], s["pid"], s["tid"], [f.split("+")[0] for f in reversed(s["stack"])])
        for s in rec["cpu_samples"]]
ok = got == want
print(("PASS" if ok else "FAIL") + ": sampler: perfetto: a PerfSample per kept sample (%d), on its thread, "
      "with its stack interned root first" % len(want) +
      ("" if ok else ": %d vs %d, first differing %s" %
       (len(got), len(want), next(((g, w) for g, w in zip(got, want) if g != w), None))))
PY
	TPS=${MMLOCK_TRACE_PROCESSOR:-/work/shared/tools/trace_processor_shell}
	if [ -x "$TPS" ]; then
		printf '%s\n' "select count(*) from perf_sample;" \
			"select count(*) from stats where severity in ('error', 'data_loss') and value > 0;" >"$TMP/q.sql"
		"$TPS" -q "$TMP/q.sql" "$TMP/s.pftrace" >"$TMP/tp.out" 2>"$TMP/tp.err"
		n=$(python3 -c 'import json; print(len(json.load(open("'"$TMP/s.json"'"))["cpu_samples"]))')
		tp=$(grep -E '^[0-9]+$' "$TMP/tp.out" | tr '\n' ' ')
		check "sampler: perfetto: the trace processor imports the $n samples, no error stats (got: $tp)" \
			[ "$tp" = "$n 0 " ]
	else
		echo "sampler: no trace processor at $TPS: its check not run (protoc's above was)"
	fi
fi

# The sampler interrupting the ioctl exit program after it took the ioctl's
# end (test aid: that program lingers 200 us there, so most samples land in
# it): those samples are after the ioctl, never filed under it.
MMLOCK_TEST_EXIT_DELAY_NS=200000 "$MMLOCK" record -q --min-slice 100us --sample-hz 4999 \
	--json "$TMP/exit.json" -- "$GCSIM" --duration 2 --gc-threads 2 >/dev/null 2>&1
check "sampler: lingering exit: record exits 0" [ $? -eq 0 ]
python3 - "$TMP/exit.json" <<'PY' || fail "sampler: lingering exit: the checker stopped"
import json, sys
r = json.load(open(sys.argv[1]))
ev = {(e["tid"], e["ts_ns"]): e for e in r["events"] if e["kind"] == "ioctl"}
filed = [(s, ev[(s["tid"], s["ioctl_ts_ns"])]) for s in r["cpu_samples"] if (s["tid"], s["ioctl_ts_ns"]) in ev]
out = [(s["tid"], s["ts_ns"] - e["ts_ns"] - e["dur_ns"]) for s, e in filed if s["ts_ns"] > e["ts_ns"] + e["dur_ns"]]
ok = filed and not out
print(("PASS" if ok else "FAIL") + ": sampler: lingering exit: no sample after the end of the ioctl it is filed under "
      "(%d filed)" % len(filed) + ("" if ok else ": %d after, first (tid, ns after): %s" % (len(out), out[:3])))
PY

# --sample-hz 0: none taken, nothing of the sampler in the file.
"$MMLOCK" record --sample-hz 0 --json "$TMP/off.json" -- "$GCSIM" --duration 1 >"$TMP/off.txt" 2>&1
check "sampler: --sample-hz 0: record exits 0" [ $? -eq 0 ]
python3 - "$TMP/off.json" <<'PY' || fail "sampler: --sample-hz 0: the checker stopped"
import json, sys
r = json.load(open(sys.argv[1]))
ok = (r["sampler"]["hz"] == 0 and not r["sampler"]["attached"] and r["sampler"]["samples"] == 0 and
      not r["cpu_samples"] and not any("oncpu_samples" in h for t in r["threads"] for h in t["hists"]) and
      any(e["kind"] == "ioctl" for e in r["events"]))
print(("PASS" if ok else "FAIL") + ": sampler: --sample-hz 0 takes no samples (ioctls still recorded)" +
      ("" if ok else ": " + json.dumps(r["sampler"])))
PY
check "sampler: --sample-hz 0: the report does not mention the sampler" \
	sh -c '! grep -q "on-CPU samples\|on CPU in:" "$1"' _ "$TMP/off.txt"

# The low-tax mode sees no ioctls: the sampler is off there, and says why.
"$MMLOCK" record -q --uffd-probes none --json "$TMP/lowtax.json" -- "$GCSIM" --duration 1 >/dev/null 2>&1
check "sampler: --uffd-probes none: record exits 0" [ $? -eq 0 ]
check "sampler: --uffd-probes none: the sampler is off, and the JSON says why" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["sampler"]
sys.exit(not (s["hz"] == 0 and not s["attached"] and "--uffd-probes none" in s["why_not"]))' "$TMP/lowtax.json"

# A perf_event attach the kernel refuses (test aid): said once, recorded without samples.
MMLOCK_REFUSE_ATTACH=oncpu_sample "$MMLOCK" record --json "$TMP/ref.json" -- "$GCSIM" --duration 1 \
	>/dev/null 2>"$TMP/ref.err"
check "sampler: refused attach: record still exits 0" [ $? -eq 0 ]
check "sampler: refused attach: one line says so" \
	sh -c '[ "$(grep -c "no on-CPU samples" "$1")" = 1 ] && grep -q MMLOCK_REFUSE_ATTACH "$1"' _ "$TMP/ref.err"
python3 - "$TMP/ref.json" <<'PY' || fail "sampler: refused attach: the checker stopped"
import json, sys
r = json.load(open(sys.argv[1]))
s = r["sampler"]
ok = (s["hz"] == 99 and not s["attached"] and "MMLOCK_REFUSE_ATTACH" in s["why_not"] and
      not r["cpu_samples"] and any(e["kind"] == "ioctl" for e in r["events"]))
print(("PASS" if ok else "FAIL") + ": sampler: refused attach: the JSON says why, no samples, ioctls recorded" +
      ("" if ok else ": " + json.dumps(s)))
PY
"$MMLOCK" report "$TMP/ref.json" >"$TMP/ref.txt" 2>&1
check "sampler: refused attach: the report says why there are no samples" \
	grep -q '^on-CPU samples: none (perf_event: attach refused by MMLOCK_REFUSE_ATTACH)' "$TMP/ref.txt"

# Bad values: exit 2, one line naming the option, no file left behind.
for v in abc -1 10001 1.5 ""; do
	"$MMLOCK" record --sample-hz "$v" --json "$TMP/bad.json" -d 1 >/dev/null 2>"$TMP/bad.err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(grep -c '' "$TMP/bad.err")" = 1 ] && grep -q -- "--sample-hz" "$TMP/bad.err" &&
	   [ ! -e "$TMP/bad.json" ]; then
		pass "sampler: --sample-hz '$v' exits 2 with one line"
	else
		fail "sampler: --sample-hz '$v': exit $rc, stderr: $(head -c 200 "$TMP/bad.err")"
	fi
done
