#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Helper for bench/run.sh (python3 stdlib only).

  bench.py run   --gcsim G --shape N --dur S --config NAME --rep I [--pin CPU]
                 [--bpf-stats] [--marker RE | --settle S] -- TRACER ARGS...
      One measured run, appended as a JSON line to stdout:
        1. start gcsim with --ready-fd/--go-fd; it sets up (untimed) and says "ready PID";
        2. start the tracer ({PID}, {TMP} in its arguments are replaced), wait until
           it is attached (a line matching --marker on its stdout/stderr, or --settle s);
        3. snapshot the workload's CPU time (/proc/PID/task/*/schedstat), send "go";
        4. wait4() the workload: rusage, then its JSON (ioctls, ns in ioctls, pages);
        5. SIGINT the tracer, wait4() it: peak RSS, CPU, exit status.
      With --bpf-stats (held on by a BPF_ENABLE_STATS fd, whatever the sysctl), the tracer's
      new BPF programs (run_cnt, run_time_ns) are diffed over the workload window,
      and its new maps (bytes_memlock) are listed.
      With no tracer arguments the run is the untraced baseline.

  bench.py tax   --loop L --cpu CPU --secs S --config NAME --rep I [--bpf-stats]
                 [--marker RE | --settle S] -- TRACER ARGS...
      What the tracer costs processes it does not trace, as a JSON line: start a
      sleeping process ({PID} and {OTHER} in the tracer's arguments: the "target"
      that does nothing), start the tracer and wait until it is attached, then run
      bench/syscall_loop (L) getppid, fionread and pipe for S s each, pinned to CPU.
      With --bpf-stats, the tracer's programs' run_cnt/run_time_ns per loop.

  bench.py loss  --config NAME --interval I --rep R MMLOCK.json GCSIM.json
      uffd ioctls lost by one recording, as a JSON line: per gcsim thread and
      command, gcsim's own count against mmlock's.

  bench.py links                     BPF links attached now, by type (one line)
  bench.py stats FILE.jsonl          the throughput/CPU table (markdown)
  bench.py taxstats FILE.jsonl       the tax-on-the-system table (markdown)
  bench.py taxbpf FILE.jsonl         per-program BPF cost in the tax loops (markdown)
  bench.py lossstats FILE.jsonl      the lost-ioctls table (markdown)
  bench.py bpfstats FILE.jsonl       per-program BPF cost table (markdown)
  bench.py counters MMLOCK.json      mmlock's drop counters, one line
"""
import ctypes
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def die(msg):
    print("bench.py: " + msg, file=sys.stderr)
    sys.exit(1)


def task_cpu_ns(pid):
    """Sum of on-CPU ns of every thread of pid (schedstat field 1)."""
    tot = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    tot += int(f.read().split()[0])
            except OSError:
                pass
    except OSError:
        pass
    return tot


def bpftool_json(what):
    out = subprocess.run(["bpftool", "-j", what, "show"], capture_output=True, text=True)
    try:
        return json.loads(out.stdout or "[]")
    except ValueError:
        return []


def prog_snapshot():
    return {p["id"]: p for p in bpftool_json("prog")}


# bpf(2) BPF_ENABLE_STATS (BPF_STATS_RUN_TIME): run-time statistics on for as
# long as the returned fd is open. The kernel counts these fds apart from the
# kernel.bpf_stats_enabled sysctl, so another user writing 0 there (a second
# bench run, a profiler) cannot switch them off under this measurement, as it
# did in a fresh-clone `make test` while a second bench ran.
BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}
BPF_ENABLE_STATS = 32


def hold_bpf_stats():
    nr = BPF_SYSCALL.get(platform.machine())
    if nr is None:
        die("bpf_stats: no bpf(2) number for " + platform.machine())
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.c_uint32(0)	# enable_stats.type = BPF_STATS_RUN_TIME
    fd = libc.syscall(nr, BPF_ENABLE_STATS, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        die("bpf_stats: BPF_ENABLE_STATS: " + os.strerror(ctypes.get_errno()))
    return fd


def proc_status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for l in f:
                if l.startswith(field + ":"):
                    return int(l.split()[1])
    except OSError:
        pass
    return None


class Tracer:
    """A tracer process whose output is drained by threads (and searched for a marker)."""

    def __init__(self, argv, tmp, marker):
        self.marker = re.compile(marker) if marker else None
        self.ready = threading.Event()
        self.t_ready = None
        self.hwm_at_ready = None
        self.log = open(os.path.join(tmp, "tracer.log"), "w")
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, errors="replace",
                                  start_new_session=True)
        self.threads = [threading.Thread(target=self.drain, args=(s,), daemon=True)
                        for s in (self.p.stdout, self.p.stderr)]
        for t in self.threads:
            t.start()

    def drain(self, stream):
        for line in stream:
            self.log.write(line)
            if self.marker and not self.ready.is_set() and self.marker.search(line):
                self.t_ready = time.monotonic()
                self.hwm_at_ready = proc_status_kb(self.p.pid, "VmHWM")
                self.ready.set()

    def stop(self, timeout=60):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(self.p.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(self.p.pid, 0)
                break
            time.sleep(0.02)
        self.p.returncode = os.waitstatus_to_exitcode(status)
        for t in self.threads:
            t.join(5)
        self.log.close()
        return status, ru


def start_sleeper(state):
    """The "other process" of `-p {OTHER}`: alive, doing no syscalls. Named after the
    run's directory, so a leftover can be found by it."""
    p = state["sleeper"] = subprocess.Popen([os.path.join(state["tmp"], "other"), "100000"],
                                            executable=shutil.which("sleep"),
                                            stdin=subprocess.DEVNULL)
    return p.pid


def stop_sleeper(state):
    p = state.pop("sleeper", None)
    if p and p.poll() is None:
        p.kill()
        p.wait()


def start_tracer(argv, tmp, opts, state, res):
    """Start the tracer and wait until it says it is attached (--marker), if asked."""
    tr = Tracer(argv, tmp, opts["marker"])
    state["tracer"] = tr.p
    if opts["marker"]:
        while not tr.ready.wait(0.05):
            if tr.p.poll() is not None or time.monotonic() - tr.t0 > 60:
                tr.stop(5)
                die(f"{opts['config']}: tracer did not attach; its output:\n" +
                    open(os.path.join(tmp, "tracer.log")).read()[-2000:])
        res["attach_s"] = tr.t_ready - tr.t0
        res["tracer_hwm_at_attach_kb"] = tr.hwm_at_ready
    return tr


def uffd_probes(tmp):
    """The mechanism mmlock chose for its uffd ioctl probes (its JSON, {TMP}/m.json)."""
    try:
        with open(os.path.join(tmp, "m.json")) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return {}
    pr = {p["name"]: p["mechanism"] for p in d.get("probes", [])}
    return {"uffd_mech": pr.get("uffd_ioctl_enter", "?"),
            "prog_misses": d.get("counters", {}).get("bpf_prog_misses")}


def kill_all(state):
    """On any failure: kill what was started (else EOF on gcsim's go pipe would let
    it run on, unmeasured, into the next run) and remove the run's directory."""
    for k in ("gcsim", "tracer", "sleeper"):
        p = state.get(k)
        if p and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL) if k == "tracer" else p.kill()
                p.wait()
            except OSError:
                pass
    if state.get("tmp"):
        subprocess.run(["rm", "-rf", state["tmp"]])


def cmd_run(args):
    """See the module docstring."""
    state = {}
    try:
        run_measured(args, state)
    except BaseException:
        kill_all(state)
        raise


def parse_opts(args, required):
    opts = {"pin": None, "bpf_stats": False, "marker": None, "settle": 0.0}
    tracer = []
    if "--" in args:
        i = args.index("--")
        args, tracer = args[:i], args[i + 1:]
    it = iter(args)
    for a in it:
        if a == "--bpf-stats":
            opts["bpf_stats"] = True
        elif a.startswith("--"):
            opts[a[2:].replace("-", "_")] = next(it)
        else:
            die("unexpected argument " + a)
    for k in required:
        if k not in opts:
            die(f"--{k} is required")
    return opts, tracer


TAX_MODES = ("getppid", "fionread", "pipe")


def cmd_tax(args):
    """See the module docstring."""
    state = {}
    try:
        tax_measured(args, state)
    except BaseException:
        kill_all(state)
        raise


def tax_measured(args, state):
    opts, tracer = parse_opts(args, ("loop", "cpu", "secs", "config", "rep"))
    if opts["bpf_stats"]:
        state["stats_fd"] = hold_bpf_stats()
    tmp = state["tmp"] = tempfile.mkdtemp(prefix="mmlock-bench.")
    res = {"config": opts["config"], "rep": int(opts["rep"]), "cpu": opts["cpu"]}
    tr = None
    base0 = prog_snapshot() if opts["bpf_stats"] else {}
    if tracer:
        other = start_sleeper(state)
        tracer = [a.replace("{PID}", str(other)).replace("{OTHER}", str(other))
                  .replace("{TMP}", tmp) for a in tracer]
        tr = start_tracer(tracer, tmp, opts, state, res)
        time.sleep(float(opts["settle"]))
    tax, progs = {}, {}
    for mode in TAX_MODES:
        p0 = prog_snapshot() if opts["bpf_stats"] else {}
        out = subprocess.run(["taskset", "-c", opts["cpu"], opts["loop"], mode, opts["secs"]],
                             capture_output=True, text=True)
        f = out.stdout.split()
        if out.returncode or len(f) != 11 or f[0] != mode:
            die(f"syscall_loop {mode} failed ({out.returncode}): {out.stderr.strip()}")
        tax[mode] = {"ops": int(f[2]), "wall_ns": int(f[4]), "cpu_ns": int(f[6]),
                     "p10_ns": float(f[8]), "p50_ns": float(f[10])}
        if opts["bpf_stats"]:
            p1 = prog_snapshot()
            progs[mode] = [{"name": p.get("name", "?"),
                            "run_cnt": p1[i].get("run_cnt", 0) - p.get("run_cnt", 0),
                            "run_time_ns": p1[i].get("run_time_ns", 0) - p.get("run_time_ns", 0)}
                           for i, p in p0.items() if i in p1 and i not in base0]
    res["tax"] = tax
    if opts["bpf_stats"]:
        res["progs"] = progs
    if tr:
        tstatus, _ = tr.stop()
        res["tracer_rc"] = os.waitstatus_to_exitcode(tstatus)
        res.update(uffd_probes(tmp))
    stop_sleeper(state)
    print(json.dumps(res), flush=True)
    subprocess.run(["rm", "-rf", tmp])


def cmd_loss(args):
    if len(args) < 2:
        die("loss: MMLOCK.json GCSIM.json are required")
    opts, _ = parse_opts(args[:-2], ("config", "interval", "rep"))
    with open(args[-2]) as f:
        mm = json.load(f)
    with open(args[-1]) as f:
        gt = json.load(f)
    got = {}
    for t in mm["threads"]:
        for h in t["hists"]:
            if h["kind"] == "ioctl":
                got[(t["tid"], h["command"])] = got.get((t["tid"], h["command"]), 0) + h["count"]
    threads = []
    for t in gt["threads"]:
        for cmd, v in t["ioctls"].items():
            if v["count"]:
                n = got.get((t["tid"], cmd), 0)
                threads.append({"tid": t["tid"], "name": t["name"], "command": cmd,
                                "gcsim": v["count"], "mmlock": n})
    pr = {p["name"]: p["mechanism"] for p in mm.get("probes", [])}
    c = mm.get("counters", {})
    print(json.dumps({"config": opts["config"], "interval": opts["interval"],
                      "rep": int(opts["rep"]), "uffd_mech": pr.get("uffd_ioctl_enter", "?"),
                      "duration_s": mm.get("duration_ns", 0) / 1e9,
                      "counters": {k: v for k, v in c.items() if v}, "threads": threads}))


def run_measured(args, state):
    opts, tracer = parse_opts(args, ("gcsim", "shape", "dur", "config", "rep"))
    if opts["bpf_stats"]:
        state["stats_fd"] = hold_bpf_stats()

    tmp = state["tmp"] = tempfile.mkdtemp(prefix="mmlock-bench.")
    gjson = os.path.join(tmp, "gcsim.json")
    rd_r, rd_w = os.pipe()
    go_r, go_w = os.pipe()
    argv = [opts["gcsim"], "--gc-threads", opts["shape"], "--no-ui", "--mutators", "0",
            "--duration", opts["dur"], "--json", gjson,
            "--ready-fd", str(rd_w), "--go-fd", str(go_r)]
    if opts["pin"] is not None:
        argv = ["taskset", "-c", opts["pin"]] + argv
    glog = open(os.path.join(tmp, "gcsim.log"), "w")
    g = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=glog, stderr=glog,
                         pass_fds=(rd_w, go_r))
    state["gcsim"] = g
    os.close(rd_w)
    os.close(go_r)
    line = b""
    while not line.endswith(b"\n"):
        c = os.read(rd_r, 64)
        if not c:
            die("gcsim exited before it was ready (see %s)" % glog.name)
        line += c
    os.close(rd_r)
    gpid = int(line.split()[1])

    res = {"config": opts["config"], "shape": int(opts["shape"]), "rep": int(opts["rep"]),
           "dur_s": float(opts["dur"]), "pinned": opts["pin"]}
    tr = None
    progs0 = prog_snapshot() if opts["bpf_stats"] else {}
    maps0 = {m["id"] for m in bpftool_json("map")} if opts["bpf_stats"] else set()
    if tracer:
        other = start_sleeper(state) if any("{OTHER}" in a for a in tracer) else None
        tracer = [a.replace("{PID}", str(gpid)).replace("{TMP}", tmp)
                  .replace("{OTHER}", str(other)) for a in tracer]
        tr = start_tracer(tracer, tmp, opts, state, res)
        time.sleep(float(opts["settle"]))
    progs1 = prog_snapshot() if opts["bpf_stats"] else {}
    if opts["bpf_stats"]:
        res["maps"] = [{"name": m.get("name", "?"), "type": m.get("type"),
                        "bytes_memlock": int(m.get("bytes_memlock", 0))}
                       for m in bpftool_json("map") if m["id"] not in maps0]

    cpu0 = task_cpu_ns(gpid)
    os.write(go_w, b"g")
    os.close(go_w)
    _, status, ru = os.wait4(g.pid, 0)
    g.returncode = os.waitstatus_to_exitcode(status)
    glog.close()
    progs2 = prog_snapshot() if opts["bpf_stats"] else {}
    if tr:
        tstatus, tru = tr.stop()
        res["tracer_rc"] = os.waitstatus_to_exitcode(tstatus)
        res["tracer_maxrss_kb"] = tru.ru_maxrss
        res["tracer_cpu_s"] = tru.ru_utime + tru.ru_stime
        res.update(uffd_probes(tmp))
    stop_sleeper(state)
    if g.returncode != 0:
        die(f"gcsim exited {g.returncode} (see {glog.name})")

    with open(gjson) as f:
        gj = json.load(f)
    n = tot = eexist = 0
    for t in gj["threads"]:
        for v in t["ioctls"].values():
            n += v["count"]
            tot += v["total_ns"]
            eexist += v["eexist"]
    cpu_ns = (ru.ru_utime + ru.ru_stime) * 1e9 - cpu0
    res.update({"pages": gj["pages_mapped"], "wall_ns": gj["duration_ns"],
                "pages_per_s": gj["pages_mapped"] / (gj["duration_ns"] / 1e9),
                "ioctls": n, "ns_per_ioctl": tot / max(n, 1),
                "cpu_ns_per_ioctl": cpu_ns / max(n, 1), "eexist": eexist})
    if opts["bpf_stats"]:
        progs = []
        for pid_, p in progs1.items():
            if pid_ in progs0 or pid_ not in progs2:
                continue
            cnt = progs2[pid_].get("run_cnt", 0) - p.get("run_cnt", 0)
            ns = progs2[pid_].get("run_time_ns", 0) - p.get("run_time_ns", 0)
            progs.append({"name": p.get("name", "?"), "type": p.get("type"),
                          "run_cnt": cnt, "run_time_ns": ns})
        res["progs"] = progs
    print(json.dumps(res), flush=True)
    subprocess.run(["rm", "-rf", tmp])


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def med_spread(xs):
    xs = sorted(xs)
    if not xs:
        return float("nan"), float("nan"), float("nan")
    q = lambda p: xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]
    return statistics.median(xs), q(0.0), q(1.0)


def fmt_ratio(xs):
    m, lo, hi = med_spread(xs)
    return f"{m:.3f} ({lo:.2f}–{hi:.2f})"


def cmd_stats(path):
    rows = [r for r in load(path) if "progs" not in r]
    shapes = sorted({r["shape"] for r in rows})
    configs = ["none"]
    for r in rows:
        if r["config"] not in configs:
            configs.append(r["config"])
    print("| shape | config | n | throughput ratio, median (min–max) | CPU/ioctl ratio | "
          "ns in ioctl ratio | added CPU per ioctl, µs | pages/s (median) | "
          "tracer attach s | tracer peak RSS MiB (at attach) | tracer CPU s/run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in shapes:
        base = {r["rep"]: r for r in rows if r["shape"] == s and r["config"] == "none"}
        for c in configs:
            rs = [r for r in rows if r["shape"] == s and r["config"] == c]
            if not rs:
                continue
            tp, cpu, lat, add = [], [], [], []
            for r in rs:
                b = base.get(r["rep"])
                if not b:
                    continue
                tp.append(r["pages_per_s"] / b["pages_per_s"])
                cpu.append(r["cpu_ns_per_ioctl"] / b["cpu_ns_per_ioctl"])
                lat.append(r["ns_per_ioctl"] / b["ns_per_ioctl"])
                add.append((r["cpu_ns_per_ioctl"] - b["cpu_ns_per_ioctl"]) / 1000)
            pps = statistics.median(r["pages_per_s"] for r in rs)
            att = [r["attach_s"] for r in rs if "attach_s" in r]
            rss = [r["tracer_maxrss_kb"] / 1024 for r in rs if "tracer_maxrss_kb" in r]
            hwm = [r["tracer_hwm_at_attach_kb"] / 1024 for r in rs
                   if r.get("tracer_hwm_at_attach_kb")]
            tcpu = [r["tracer_cpu_s"] for r in rs if "tracer_cpu_s" in r]
            m = lambda xs, f: (f % statistics.median(xs)) if xs else "–"
            if c == "none":
                print(f"| {s} | none | {len(rs)} | 1 | 1 | 1 | 0 | {pps:,.0f} | – | – | – |")
                continue
            madd, lo, hi = med_spread(add)
            print(f"| {s} | {c} | {len(tp)} | {fmt_ratio(tp)} | {fmt_ratio(cpu)} | "
                  f"{fmt_ratio(lat)} | {madd:+.2f} ({lo:+.2f}…{hi:+.2f}) | {pps:,.0f} | "
                  f"{m(att, '%.2f')} | {m(rss, '%.1f')} ({m(hwm, '%.1f')}) | {m(tcpu, '%.2f')} |")
    floor_split(rows, shapes, configs)


def floor_split(rows, shapes, configs):
    """Each tracer's added CPU per ioctl minus hook-floor's (and hook-clock's) in the same
    repetition: hook-state and hook-clock are the steps from the floor to the least a
    per-ioctl latency tracer can do (bench/hookfloor.bpf.c)."""
    if "hook-floor" not in configs:
        return
    minimal = "hook-clock" if "hook-clock" in configs else None
    print()
    print("Added CPU per ioctl split into the hook floor (two raw_syscalls tp_btf hooks testing the "
          "syscall number, same repetition) and the tracer's own work above it, µs, median "
          "(min–max). hook-state adds the thread-state hash lookup, hook-clock also two clock "
          "reads: the least a per-ioctl latency tracer does.")
    print()
    print("| shape | hook floor | config | own work above the floor | above hook-clock | "
          "own work vs mmlock's |")
    print("|---|---|---|---|---|---|")

    def spread(xs):
        if not xs:
            return "–"
        m, lo, hi = med_spread(xs)
        return f"{m:+.2f} ({lo:+.2f}…{hi:+.2f})"

    for s in shapes:
        by = {}
        for r in rows:
            if r["shape"] == s:
                by.setdefault(r["rep"], {})[r["config"]] = r["cpu_ns_per_ioctl"]
        fl = [(v["hook-floor"] - v["none"]) / 1000 for v in by.values()
              if "none" in v and "hook-floor" in v]
        own, above = {}, {}
        for c in configs:
            if c in ("none", "hook-floor", "sched-floor", "perf-lock"):
                continue
            own[c] = [(v[c] - v["hook-floor"]) / 1000 for v in by.values()
                      if c in v and "hook-floor" in v]
            if minimal and not c.startswith("hook-"):
                above[c] = [(v[c] - v[minimal]) / 1000 for v in by.values()
                            if c in v and minimal in v]
        mm = statistics.median(own["mmlock"]) if own.get("mmlock") else None
        for c, xs in own.items():
            if not xs:
                continue
            m = statistics.median(xs)
            rel = f"{m / mm:.2f}x" if mm and mm > 0 and c != "mmlock" else "–"
            print(f"| {s} | {spread(fl)} | {c} | {spread(xs)} | {spread(above.get(c))} | {rel} |")


def config_order(rows):
    configs = ["none"]
    for r in rows:
        if r["config"] not in configs:
            configs.append(r["config"])
    return configs


def cmd_taxstats(path):
    rows = [r for r in load(path) if "tax" in r]
    configs = config_order(rows)
    base = {r["rep"]: r for r in rows if r["config"] == "none"}
    units = {"getppid": (1, "ns"), "fionread": (1, "ns"), "pipe": (1000, "µs")}
    for clock, title in (("p10_ns", "Per operation, from the 10th percentile of the batches' "
                          "wall times (1000 calls, 100 pipe round trips): the steadiest figure on a "
                          "shared machine"),
                         ("cpu_ns", "Per operation, from the CPU time of the whole loop (the "
                          "process's own, and its child's for pipe): includes what other tasks "
                          "did to its caches")):
        print(f"{title}. Added = median (min–max) of the differences to the untraced run of "
              "the same repetition; ratio likewise.")
        print()
        print("| config | n | uffd probes | getppid ns/call | added ns/getppid | "
              "FIONREAD ns/call | added ns/FIONREAD | pipe µs/switch | added µs/switch | "
              "pipe ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for c in configs:
            rs = [r for r in rows if r["config"] == c]
            if not rs:
                continue
            if clock == "p10_ns":
                per = lambda r, m: r["tax"][m][clock] / units[m][0]
            else:
                per = lambda r, m: r["tax"][m][clock] / max(r["tax"][m]["ops"], 1) / units[m][0]
            cells = []
            for m in TAX_MODES:
                cells.append(f"{statistics.median(per(r, m) for r in rs):,.{2 if m == 'pipe' else 0}f}")
                if c == "none":
                    cells.append("–")
                    continue
                d = [per(r, m) - per(base[r["rep"]], m) for r in rs if r["rep"] in base]
                md, lo, hi = med_spread(d)
                f = ".2f" if m == "pipe" else ".0f"
                cells.append(f"{md:+{f}} ({lo:+{f}}…{hi:+{f}})" if d else "–")
            if c == "none":
                ratio = "1"
            else:
                rr = [per(r, "pipe") / per(base[r["rep"]], "pipe") for r in rs if r["rep"] in base]
                ratio = fmt_ratio(rr) if rr else "–"
            mech = sorted({r.get("uffd_mech", "–") for r in rs})
            print(f"| {c} | {len(rs)} | {','.join(mech)} | " + " | ".join(cells) + f" | {ratio} |")
        print()


def cmd_taxbpf(path):
    """Per program, what each tracer's BPF costs the untraced loop (bpf_stats runs of
    the tax step): ns per run, and runs per operation (per getppid, per context switch)."""
    rows = [r for r in load(path) if "progs" in r]
    cfgs = []
    for r in rows:
        if r["config"] not in cfgs:
            cfgs.append(r["config"])
    for mode in ("getppid", "pipe"):
        by = {}
        for r in rows:
            ops = max(r["tax"][mode]["ops"], 1)
            for p in r["progs"].get(mode, []):
                if p["run_cnt"]:
                    by.setdefault(p["name"], {})[r["config"]] = (p["run_time_ns"] / p["run_cnt"],
                                                                 p["run_cnt"] / ops)
        print(f"{mode}: ns per run (runs per {'call' if mode == 'getppid' else 'context switch'}), "
              "programs of the tracer only")
        print()
        prog_table(by, cfgs, "{:,.0f} ({:.2f})")
        print()


def prog_table(by, cfgs, fmt):
    """A markdown table: one row a BPF program, one column a config; by[name][config] = (ns per run, runs per op)."""
    print("| program | " + " | ".join(cfgs) + " |")
    print("|---|" + "---|" * len(cfgs))
    for name in sorted(by):
        cells = [fmt.format(*by[name][c]) if c in by[name] else "–" for c in cfgs]
        print(f"| {name} | " + " | ".join(cells) + " |")


def cmd_lossstats(path):
    rows = load(path)
    print("| config | uffd probes | -i | run | s | ioctls (gcsim) | recorded (mmlock) | lost | "
          "lost, worst thread | threads losing > 1 | recorded beyond gcsim | bpf_prog_misses | "
          "other counters |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ts = r["threads"]
        lost = [t["gcsim"] - t["mmlock"] for t in ts]
        c = dict(r["counters"])
        misses = c.pop("bpf_prog_misses", 0)
        print(f"| {r['config']} | {r['uffd_mech']} | {r['interval'] or '–'} | {r['rep']} | "
              f"{r['duration_s']:.1f} | {sum(t['gcsim'] for t in ts):,} | "
              f"{sum(t['mmlock'] for t in ts):,} | {sum(x for x in lost if x > 0):,} | "
              f"{max(lost, default=0)} | {sum(1 for x in lost if x > 1)} of {len(ts)} | "
              f"{-sum(x for x in lost if x < 0):,} | {misses:,} | "
              f"{', '.join(f'{k}={v}' for k, v in c.items()) or '–'} |")


def cmd_bpfstats(path):
    rows = [r for r in load(path) if "progs" in r]
    print("| shape | config | program | events/ioctl | ns/event | BPF ns per workload ioctl |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        tot = 0
        for p in sorted(r["progs"], key=lambda p: -p["run_time_ns"]):
            if not p["run_cnt"]:
                continue
            tot += p["run_time_ns"]
            print(f"| {r['shape']} | {r['config']} | {p['name']} | "
                  f"{p['run_cnt'] / max(r['ioctls'], 1):.2f} | "
                  f"{p['run_time_ns'] / p['run_cnt']:.0f} | "
                  f"{p['run_time_ns'] / max(r['ioctls'], 1):.0f} |")
        print(f"| {r['shape']} | {r['config']} | **all** | | | **{tot / max(r['ioctls'], 1):.0f}** "
              f"({r['ioctls']} ioctls, {r['pages_per_s']:,.0f} pages/s) |")
    bpf_by_program(rows)
    print()
    print("| config | BPF maps (bytes_memlock) | total MiB |")
    print("|---|---|---|")
    seen = set()
    for r in rows:
        if r["config"] in seen or not r.get("maps"):
            continue
        seen.add(r["config"])
        ms = sorted(r["maps"], key=lambda m: -m["bytes_memlock"])
        tot = sum(m["bytes_memlock"] for m in ms)
        desc = ", ".join(f"{m['name']} {m['bytes_memlock'] / 1024:.0f}K" for m in ms)
        print(f"| {r['config']} | {desc} | {tot / 2**20:.1f} |")


def bpf_by_program(rows):
    """The mmlock configurations side by side, per program name: ns per run
    (run_time_ns / run_cnt) and runs per workload ioctl, e.g. mmlock-before
    against mmlock in the same bench run."""
    cfgs = []
    for r in rows:
        if r["config"].startswith("mmlock") and r["config"] not in cfgs:
            cfgs.append(r["config"])
    if len(cfgs) < 2:
        return
    print()
    print("Per program (name), the mmlock configurations side by side: ns per run "
          "(run_time_ns / run_cnt), and runs per workload ioctl.")
    for shape in sorted({r["shape"] for r in rows}):
        by = {}
        for r in rows:
            if r["shape"] != shape or r["config"] not in cfgs:
                continue
            for p in r["progs"]:
                if p["run_cnt"]:
                    by.setdefault(p["name"], {})[r["config"]] = (
                        p["run_time_ns"] / p["run_cnt"], p["run_cnt"] / max(r["ioctls"], 1))
        print()
        print(f"Shape {shape}:")
        print()
        prog_table(by, cfgs, "{:,.0f} ns ({:.2f}/ioctl)")


def cmd_links():
    """Others' BPF links now: a sys_enter/sys_exit hook puts every syscall on the tracing
    slow path, so the untraced baseline pays that too and the tax is understated."""
    by, tps = {}, set()
    for l in bpftool_json("link"):
        by[l.get("type", "?")] = by.get(l.get("type", "?"), 0) + 1
        if l.get("tp_name"):
            tps.add(l["tp_name"])
    warn = " — SYSCALL HOOKS ATTACHED BY OTHERS: the untraced baseline pays the syscall " \
        "tracing slow path too" if tps & {"sys_enter", "sys_exit"} else ""
    print(f"{sum(by.values())} ({', '.join(f'{k} {v}' for k, v in sorted(by.items())) or 'none'}"
          f"{': ' + ' '.join(sorted(tps)) if tps else ''}){warn}")


def cmd_counters(path):
    with open(path) as f:
        d = json.load(f)
    c = d.get("counters", {})
    nz = {k: v for k, v in c.items() if v}
    ev = d.get("events", [])
    print(f"duration {d.get('duration_ns', 0) / 1e9:.1f} s, events kept {len(ev)}, "
          f"threads {len(d.get('threads', []))}; counters: " +
          (", ".join(f"{k}={v}" for k, v in nz.items()) if nz else "all zero") +
          f"  (all: {json.dumps(c)})")


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "run":
        cmd_run(rest)
    elif cmd == "stats":
        cmd_stats(rest[0])
    elif cmd == "links":
        cmd_links()
    elif cmd == "tax":
        cmd_tax(rest)
    elif cmd == "loss":
        cmd_loss(rest)
    elif cmd == "taxstats":
        cmd_taxstats(rest[0])
    elif cmd == "taxbpf":
        cmd_taxbpf(rest[0])
    elif cmd == "lossstats":
        cmd_lossstats(rest[0])
    elif cmd == "bpfstats":
        cmd_bpfstats(rest[0])
    elif cmd == "counters":
        cmd_counters(rest[0])
    else:
        die("unknown command " + cmd)


if __name__ == "__main__":
    main()
