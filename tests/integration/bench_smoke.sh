#!/usr/bin/env bash
# [bench] A smoke run of the benchmark harness (not a timed test: no speed is
# asserted). Short runs of the untraced workload, the hook floor, the minimal
# latency tracer and mmlock; checks that every run measured something, that
# the kernel's BPF accounting saw each hook once per ioctl, that the report
# has its tables, that the drop run lost nothing, and that bpf_stats_enabled
# is restored.
. "$(dirname "$0")/../lib.sh"
need_bpf bench_smoke || exit 0
command -v bpftool >/dev/null || { skip "bench_smoke: bpftool not installed (make deps)"; exit 0; }

old=$(sysctl -n kernel.bpf_stats_enabled)
mark() { stat -c %Y.%s "$OUT/bench/runs.jsonl" 2>/dev/null || echo none; }
before=$(mark)
BENCH_RES=$TMP/res BENCH_DUR=0.5 BENCH_REPS=1 BENCH_DROP_DUR=2 \
	BENCH_CONFIGS="none hook-floor hook-clock mmlock" \
	"$TOP/bench/run.sh" "$OUT" --quick >"$TMP/bench.out" 2>"$TMP/bench.err"
rc=$?
check "bench --quick exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/    bench: /' "$TMP/bench.err" | tail -5
check "bpf_stats_enabled restored to $old" [ "$(sysctl -n kernel.bpf_stats_enabled)" = "$old" ]
check "report written to BENCH_RES" cmp -s "$TMP/bench.out" "$TMP/res/RESULTS.md"
check "OUT/bench's results left alone when BENCH_RES is set" [ "$(mark)" = "$before" ]

python3 - "$TMP/res" <<'PY'
import json, sys
d = sys.argv[1]
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
def load(f):
    try:
        return [json.loads(l) for l in open(d + "/" + f) if l.strip()]
    except OSError as e:
        return []

runs = [r for r in load("runs.jsonl") if "pages_per_s" in r]
want = {(c, s) for c in ("none", "hook-floor", "hook-clock", "mmlock") for s in (1, 4)}
got = {(r["config"], r["shape"]) for r in runs}
res("a measured run for every config and shape", want <= got, "missing %s" % sorted(want - got))
bad = [r for r in runs if not (r["pages_per_s"] > 0 and r["cpu_ns_per_ioctl"] > 0 and r["ioctls"] > 0)]
res("every run moved pages and has CPU per ioctl", runs and not bad, str(bad[:1]))
res("tracers attached and exited cleanly",
    all(r.get("tracer_rc") == 0 for r in runs if r["config"] != "none"),
    str([(r["config"], r.get("tracer_rc")) for r in runs if r["config"] != "none"]))

stats = [r for r in load("bpfstats.jsonl") if "progs" in r]
def per_ioctl(cfg, match):
    """Runs per workload ioctl and ns per run of the shape-1 programs whose name matches."""
    for r in stats:
        if r["config"] == cfg and r["shape"] == 1:
            ps = [p for p in r["progs"] if match(p["name"])]
            cnt = sum(p["run_cnt"] for p in ps)
            return cnt / max(r["ioctls"], 1), sum(p["run_time_ns"] for p in ps) / max(cnt, 1)
    return None, None
# mmlock's uffd pair is whichever the ladder chose (tp_btf here; fentry or kprobes elsewhere).
for cfg, what, match, runs in (
        ("mmlock", "uffd ioctl enter+exit programs", lambda n: n.startswith("uffd_ioctl_"), 2),
        ("hook-clock", "floor_enter", lambda n: n == "floor_enter", 1),
        ("hook-clock", "floor_exit", lambda n: n == "floor_exit", 1)):
    n, ns = per_ioctl(cfg, match)
    # Once per ioctl each (not twice); raw_syscalls hooks also run for every other syscall
    # on the machine, a few percent here.
    res("%s %s run %d time(s) per workload ioctl" % (cfg, what, runs),
        n is not None and 0.99 * runs <= n <= 1.5 * runs, "runs/ioctl %s" % n)
    res("%s %s have a BPF run time" % (cfg, what), ns is not None and 0 < ns < 100000, str(ns))
mm = [r for r in stats if r["config"] == "mmlock"]
res("mmlock's BPF map memory is reported", mm and sum(m["bytes_memlock"] for m in mm[0]["maps"]) > 1 << 20,
    str(mm[0]["maps"] if mm else "no mmlock stats"))

try:
    dj = json.load(open(d + "/drops.json"))
    res("drop run recorded the contended workload", len(dj["threads"]) >= 5, str(len(dj["threads"])))
    # switch_in_unseen counts switches this host's kernel does not trace: not a drop.
    res("no drops or full maps at defaults",
        all(v == 0 for k, v in dj["counters"].items() if k != "switch_in_unseen"), str(dj["counters"]))
except (OSError, ValueError, KeyError) as e:
    res("drop run JSON readable", False, str(e))

md = open(d + "/RESULTS.md").read()
for head in ("## 1. Workload under each tracer", "Added CPU per ioctl split into the hook floor",
             "## 2. BPF run time", "## 4. Drops"):
    res("report has: " + head, head in md)
# The floor split: | shape | hook floor | config | own work | above hook-clock | vs mmlock |
row = [[c.strip() for c in l.strip("|").split("|")] for l in md.splitlines()
       if l.startswith("| 1 |") and "…" in l]
mm = [c for c in row if len(c) == 6 and c[2] == "mmlock"]
res("floor split has mmlock's cost above the floor and above hook-clock",
    len(mm) == 1 and "…" in mm[0][3] and "…" in mm[0][4], str(mm or row))
PY
