#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mmlock overhead benchmark: `make bench`, or  bench/run.sh OUT [--quick]
#   OUT      build directory with mmlock and gcsim (build/x86)
#   --quick  smoke mode (< 60 s): short runs, 2 pairs, no bpftrace/perf, 5 s drop run
# Environment: BENCH_DUR (s per run), BENCH_REPS (pairs), BENCH_DROP_DUR (s),
#   BENCH_PIN1 (CPU to pin the 1-thread workload to; empty = unpinned), BENCH_CONFIGS,
#   BENCH_RES (results directory, default OUT/bench), BENCH_SHAPES (default "1 4"),
#   BENCH_TAX_SECS (s per tax loop; 0 = no tax step), BENCH_TAX_CPU (default 1),
#   BENCH_LOSS_DUR (s per loss run; 0 = no loss step), BENCH_LOSS_REPS,
#   BENCH_LOSS_MECHS (default "tp_btf tracepoint"), BENCH_BEFORE (the mmlock
#   binary of config mmlock-before).
#
# What it measures (all in one run; needs root):
#  1. Workload throughput and CPU per ioctl under each tracer, as ratios to an
#     untraced run of the same repetition. Repetitions are interleaved and the
#     order of the configurations rotates each repetition (A B C.., B C.. A, ...).
#     Workload: gcsim --no-ui --mutators 0 --gc-threads {1,4}: every GC thread does
#     UFFDIO_MOVE of one page per ioctl as fast as it can. gcsim sets up, says
#     "ready"; the tracer is started and waited for until attached; then gcsim
#     is let go. So tracer start-up is not in the measured window.
#       pages/s      gcsim's own count (JSON pages_mapped / duration)
#       CPU/ioctl    workload's utime+stime (wait4 rusage minus schedstat at "go")
#                    divided by its ioctls: the least noisy number on a shared VM
#       ns in ioctl  gcsim's own clock_gettime around each ioctl, total / count
#     Configurations:
#       none        untraced
#       mmlock      `mmlock record` (system-wide, defaults; per-ioctl latency is
#                   always on in mmlock's default recording)
#       mmlock-nosample  `mmlock record --sample-hz 0`: the default recording
#                   without the on-CPU sampler (mmlock against it: the sampler's
#                   cost; its BPF run time per sample is in step 2)
#       mmlock-before  `mmlock record` of another build, BENCH_BEFORE (a mmlock
#                   binary, e.g. from an older commit's worktree): before/after
#                   in the same interleaved run
#       mmlock-pf0  `mmlock record --perfetto F --min-slice 0` (every ioctl and
#                   wait becomes a ring-buffer event)
#       hook-floor  bench/hookfloor: the two raw_syscalls tp_btf hooks mmlock's
#                   uffd latency uses, testing the syscall number and nothing
#                   else: the cost any syscall-hook tracer pays on this kernel
#       hook-state  the same, and for ioctls a thread-state lookup in a hash map
#                   shaped like mmlock's (hookfloor 1)
#       hook-clock  and two clock reads, one per hook (hookfloor 2): the least
#                   a per-ioctl latency tracer does. mmlock's cost above it is
#                   its own bookkeeping (histograms, state machine, filters)
#       sched-floor  bench/hookfloor 3: empty tp_btf programs on sched_switch and
#                   sched_wakeup, where mmlock's D-state/ioctl programs attach: the
#                   cost any BPF tracer of switches and wakeups pays per context
#                   switch here (mmlock-lowtax against it: what mmlock's own sched
#                   and lock programs add above that floor)
#       mmlock-p    `mmlock record -p {OTHER}`: another process (a sleeping one)
#                   traced: what the rest of the system pays for a filtered recording
#       mmlock-tp   the default recording with the uffd latency probes forced onto
#                   the syscalls:sys_enter/exit_ioctl tracepoints (test aid
#                   MMLOCK_REFUSE_ATTACH refuses the raw_syscalls tp_btf pair; the
#                   ladder has no raw_tp variant for them)
#       mmlock-lowtax  `mmlock record --uffd-probes none`, the low-tax mode: no
#                   uffd latency probes, what the sched/lock programs alone cost
#       bpftrace    bench/ioctl_hist.bt: the same per-ioctl histogram with
#                   syscalls:sys_enter_ioctl/sys_exit_ioctl, filtered by pid
#       bpftrace-raw  bench/ioctl_hist_raw.bt: the same on raw_syscalls
#                   sys_enter/sys_exit, filtered to ioctl and pid (x86_64 numbers)
#       perf-lock   `perf lock record -a`
#  2. BPF cost per event from the kernel's accounting: one run per tracer with
#     run-time stats on (a BPF_ENABLE_STATS fd held by bench.py; the sysctl
#     kernel.bpf_stats_enabled is set to 0 for the timed runs and restored at
#     exit); run_time_ns/run_cnt of
#     each new program over the workload window, and BPF maps' bytes_memlock.
#  3. Attach time (exec to "mmlock: recording"), tracer peak RSS (wait4 ru_maxrss),
#     static binary sizes (make ARCH=x86|arm64 STATIC=1).
#  4. Drops: a BENCH_DROP_DUR s run of `mmlock record -o` (defaults) on gcsim's
#     default contended workload (4 GC threads, ui, a mutator): JSON counters.
#  5. Tax on the rest of the system, in the same repetitions as 1 (each config's
#     tracer started once more, with a sleeping process as its -p/{PID} target):
#     bench/syscall_loop pinned to BENCH_TAX_CPU, BENCH_TAX_SECS s each: getppid
#     (ns per syscall), FIONREAD on a pipe (ns per non-uffd ioctl, like binder's),
#     pipe ping-pong of two processes on that CPU (µs per context switch); per
#     operation from the 10th percentile of batch times, and from CPU time.
#     Others' sys_enter/sys_exit hooks put the untraced baseline on the syscall
#     tracing slow path too: the report's header names them.
#  6. Lost uffd ioctls: `mmlock record -o J [-i 0.1] -- gcsim --json G` on the
#     contended default workload, per uffd probe mechanism (BENCH_LOSS_MECHS; a
#     mechanism other than the ladder's choice is forced with MMLOCK_REFUSE_ATTACH),
#     without and with live summaries every 0.1 s (map reads from userspace hold
#     bpf_prog_active, during which perf-based tracepoint programs are skipped):
#     per thread, mmlock's count against gcsim's own.
#
# Results: printed, and written to OUT/bench/RESULTS.md (raw data: OUT/bench/*.jsonl);
# BENCH_RES names another directory for them (the test suite's smoke run does).
# The 1-thread shape is pinned to one CPU (BENCH_PIN1, default 1): unpinned, each
# MOVE's TLB flush IPIs the other vCPU, and if that vCPU is idle the ioctl waits
# ~40 µs for the hypervisor to wake it, so throughput depends on whatever keeps the
# other CPU busy (a tracer too) rather than on per-event cost. See bench/RESULTS.md.
set -u -o pipefail

OUT=${1:?usage: bench/run.sh OUT [--quick]}
QUICK=0
[ "${2:-}" = --quick ] && QUICK=1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=(python3 "$HERE/bench.py")
# Run copies: a rebuild of OUT during the bench must not change what is measured.
SNAP=$(mktemp -d "${TMPDIR:-/tmp}/mmlock-bench-bin.XXXXXX")
for b in mmlock gcsim bench/hookfloor bench/syscall_loop; do
	[ -x "$OUT/$b" ] || { echo "bench: $OUT/$b missing: make bench builds it" >&2; exit 1; }
	cp "$OUT/$b" "$SNAP/${b#bench/}"
done
MMLOCK=$SNAP/mmlock
BEFORE=
if [ -n "${BENCH_BEFORE:-}" ]; then
	[ -x "$BENCH_BEFORE" ] || { echo "bench: BENCH_BEFORE=$BENCH_BEFORE is not an executable" >&2; exit 1; }
	BEFORE=$SNAP/mmlock-before
	cp "$BENCH_BEFORE" "$BEFORE"
	BEFORE_DESC="$("$BEFORE" --version 2>&1 | head -1), commit $(git -C "$(dirname "$BENCH_BEFORE")" rev-parse --short HEAD 2>/dev/null || echo '?')"
fi
GCSIM=$SNAP/gcsim
HOOKFLOOR=$SNAP/hookfloor
LOOP=$SNAP/syscall_loop

if [ $QUICK = 1 ]; then
	DUR=${BENCH_DUR:-1}; REPS=${BENCH_REPS:-2}; DROP_DUR=${BENCH_DROP_DUR:-5}
	CONFIGS=${BENCH_CONFIGS:-"none hook-floor hook-clock mmlock mmlock-p mmlock-tp mmlock-pf0"}
	TAX_SECS=${BENCH_TAX_SECS:-0.2}; LOSS_DUR=${BENCH_LOSS_DUR:-2}; LOSS_REPS=${BENCH_LOSS_REPS:-1}
else
	DUR=${BENCH_DUR:-2.5}; REPS=${BENCH_REPS:-8}; DROP_DUR=${BENCH_DROP_DUR:-60}
	CONFIGS=${BENCH_CONFIGS:-"none hook-floor hook-state hook-clock mmlock mmlock-nosample mmlock-p mmlock-tp mmlock-lowtax sched-floor mmlock-pf0 bpftrace bpftrace-raw perf-lock"}
	TAX_SECS=${BENCH_TAX_SECS:-0.5}; LOSS_DUR=${BENCH_LOSS_DUR:-5}; LOSS_REPS=${BENCH_LOSS_REPS:-2}
fi
TAX_CPU=${BENCH_TAX_CPU:-1}
LOSS_MECHS=${BENCH_LOSS_MECHS:-tp_btf tracepoint}
PIN1=${BENCH_PIN1-1}
SHAPES=${BENCH_SHAPES:-1 4}

[ "$(id -u)" = 0 ] || { echo "bench: needs root (BPF, perf, bpf_stats)" >&2; exit 1; }
for t in bpftool taskset; do
	command -v $t >/dev/null || { echo "bench: $t not installed" >&2; exit 1; }
done
have() { command -v "$1" >/dev/null; }
for c in $CONFIGS; do
	case $c in
	bpftrace*) have bpftrace || { echo "bench: no bpftrace, skipping $c" >&2; CONFIGS=${CONFIGS/$c/}; } ;;
	perf-lock) have perf || { echo "bench: no perf, skipping it" >&2; CONFIGS=${CONFIGS/perf-lock/}; } ;;
	mmlock-before) [ -n "$BEFORE" ] || { echo "bench: mmlock-before needs BENCH_BEFORE=MMLOCK" >&2; exit 1; } ;;
	esac
done

RES=${BENCH_RES:-$OUT/bench}
mkdir -p "$RES"
RUNS=$RES/runs.jsonl
STATS=$RES/bpfstats.jsonl
TAX=$RES/tax.jsonl
TAXSTATS=$RES/taxstats.jsonl
LOSS=$RES/loss.jsonl
: >"$RUNS"
: >"$STATS"
: >"$TAX"
: >"$TAXSTATS"
: >"$LOSS"

OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q kernel.bpf_stats_enabled=$OLD_STATS; rm -rf "$SNAP"' EXIT
sysctl -q kernel.bpf_stats_enabled=0

# tracer_args CONFIG: helper options and the tracer's command line ({PID}, {TMP}
# are filled in by bench.py once gcsim is ready).
# The uffd probe programs (bpf/uffd.bpf.c) refused to force the ladder's choice.
UFFD_BTF=uffd_ioctl_enter_btf,uffd_ioctl_exit_btf
tracer_args() {
	case $1 in
	none)       echo "" ;;
	mmlock)     echo "--marker ^mmlock:.recording -- $MMLOCK record -o {TMP}/m.json" ;;
	mmlock-nosample) echo "--marker ^mmlock:.recording -- $MMLOCK record --sample-hz 0 -o {TMP}/m.json" ;;
	mmlock-p)   echo "--marker ^mmlock:.recording -- $MMLOCK record -p {OTHER} -o {TMP}/m.json" ;;
	mmlock-tp)  echo "--marker ^mmlock:.recording -- env MMLOCK_REFUSE_ATTACH=$UFFD_BTF $MMLOCK record -o {TMP}/m.json" ;;
	mmlock-before) echo "--marker ^mmlock:.recording -- $BEFORE record -o {TMP}/m.json" ;;
	mmlock-lowtax) echo "--marker ^mmlock:.recording -- $MMLOCK record --uffd-probes none -o {TMP}/m.json" ;;
	mmlock-pf0) echo "--marker ^mmlock:.recording -- $MMLOCK record --perfetto {TMP}/t.pftrace --min-slice 0" ;;
	hook-floor) echo "--marker ^hookfloor:.attached -- $HOOKFLOOR 0" ;;
	hook-state) echo "--marker ^hookfloor:.attached -- $HOOKFLOOR 1" ;;
	hook-clock) echo "--marker ^hookfloor:.attached -- $HOOKFLOOR 2" ;;
	sched-floor) echo "--marker ^hookfloor:.attached -- $HOOKFLOOR 3" ;;
	bpftrace)   echo "--marker ^ready -- bpftrace $HERE/ioctl_hist.bt {PID}" ;;
	bpftrace-raw) echo "--marker ^ready -- bpftrace $HERE/ioctl_hist_raw.bt {PID}" ;;
	perf-lock)  echo "--settle 1.0 -- perf lock record -a -o {TMP}/perf.data" ;;
	*) echo "bench: unknown config $1" >&2; exit 1 ;;
	esac
}

# run_one CONFIG SHAPE REP [extra helper options]
run_one() {
	local cfg=$1 shape=$2 rep=$3
	shift 3
	local pin=()
	[ "$shape" = 1 ] && [ -n "$PIN1" ] && pin=(--pin "$PIN1")
	# shellcheck disable=SC2046
	"${PY[@]}" run --gcsim "$GCSIM" --shape "$shape" --dur "$DUR" --config "$cfg" \
		--rep "$rep" "${pin[@]}" "$@" $(tracer_args "$cfg")
}

# run_tax CONFIG REP [--bpf-stats]: the tax step (5) under CONFIG's tracer
run_tax() {
	local cfg=$1 rep=$2
	shift 2
	# shellcheck disable=SC2046
	"${PY[@]}" tax --loop "$LOOP" --cpu "$TAX_CPU" --secs "$TAX_SECS" --config "$cfg" \
		--rep "$rep" "$@" $(tracer_args "$cfg")
}

START=$(date +%s)
LINKS0=$("${PY[@]}" links)
read -r -a CFGS <<<"$CONFIGS"
N=${#CFGS[@]}
echo "bench: $N configs x shapes ${SHAPES// /,} x $REPS interleaved repetitions, ${DUR}s each" >&2

# 1. and 5. interleaved pairs, order rotating per repetition
for rep in $(seq 1 "$REPS"); do
	[ "$TAX_SECS" != 0 ] && for k in $(seq 0 $((N - 1))); do
		cfg=${CFGS[$(((k + rep) % N))]}
		run_tax "$cfg" "$rep" >>"$TAX" || echo "bench: tax $cfg rep $rep failed" >&2
	done
	for shape in $SHAPES; do
		for k in $(seq 0 $((N - 1))); do
			cfg=${CFGS[$(((k + rep) % N))]}
			run_one "$cfg" "$shape" "$rep" >>"$RUNS" ||
				echo "bench: run $cfg shape $shape rep $rep failed" >&2
		done
	done
	echo "bench: repetition $rep/$REPS done ($(($(date +%s) - START)) s)" >&2
done

# 2. BPF run time per program, with bpf_stats on (it adds two clock reads per
# run). bench.py --bpf-stats holds them on through a BPF_ENABLE_STATS fd, not
# the sysctl, which any other user may set to 0 under us.
for cfg in $CONFIGS; do
	case $cfg in none|perf-lock) continue ;; esac
	for shape in $SHAPES; do
		run_one "$cfg" "$shape" 0 --bpf-stats >>"$STATS" ||
			echo "bench: bpf_stats run $cfg shape $shape failed" >&2
	done
done
# and in the tax loops: what each program costs the untraced process, per program
[ "$TAX_SECS" != 0 ] && for cfg in $CONFIGS; do
	case $cfg in none|perf-lock|bpftrace*) continue ;; esac
	run_tax "$cfg" 0 --bpf-stats >>"$TAXSTATS" || echo "bench: bpf_stats tax run $cfg failed" >&2
done
echo "bench: bpf_stats runs done ($(($(date +%s) - START)) s)" >&2

# 4. drops at defaults on the contended default workload
DROPJ=$RES/drops.json
DROPLOG=$RES/drops.log
"$MMLOCK" record -q -o "$DROPJ" -- "$GCSIM" --duration "$DROP_DUR" >"$DROPLOG" 2>&1
DROP_RC=$?
echo "bench: drop run done ($(($(date +%s) - START)) s)" >&2

# 6. uffd ioctls lost, per uffd probe mechanism, without and with frequent map reads
loss_refuse() {
	case $1 in
	tp_btf) echo "" ;;	# the ladder's choice on this kernel
	tracepoint) echo "$UFFD_BTF" ;;
	*) echo "bench: unknown loss mechanism $1" >&2; return 1 ;;
	esac
}
[ "$LOSS_DUR" != 0 ] && for rep in $(seq 1 "$LOSS_REPS"); do
	for mech in $LOSS_MECHS; do
		for iv in none 0.1; do
			refuse=$(loss_refuse "$mech") || continue
			d=$(mktemp -d "${TMPDIR:-/tmp}/mmlock-bench-loss.XXXXXX")
			ivopt=()
			[ "$iv" = none ] || ivopt=(-i "$iv")
			MMLOCK_REFUSE_ATTACH=$refuse "$MMLOCK" record -q -o "$d/m.json" "${ivopt[@]}" -- \
				"$GCSIM" --duration "$LOSS_DUR" --json "$d/g.json" >"$d/log" 2>&1 &&
				"${PY[@]}" loss --config "mmlock-$mech" --interval "$iv" --rep "$rep" \
					"$d/m.json" "$d/g.json" >>"$LOSS" ||
				echo "bench: loss run $mech -i $iv failed: $(tail -2 "$d/log")" >&2
			rm -rf "$d"
		done
	done
done

echo "bench: loss runs done ($(($(date +%s) - START)) s)" >&2

# 3. static binaries (skipped in quick mode)
static_size() {
	local arch=$1 bin=$ROOT/build/$1-static/mmlock
	if [ $QUICK = 1 ]; then echo "| $arch | (skipped in --quick) | |"; return; fi
	if make -C "$ROOT" -s ARCH="$arch" STATIC=1 "build/$arch-static/mmlock" >"$RES/static-$arch.log" 2>&1; then
		local s st
		s=$(stat -c %s "$bin")
		local strip=strip
		[ "$arch" = arm64 ] && strip=aarch64-linux-gnu-strip
		$strip -o "$SNAP/stripped" "$bin" 2>/dev/null && st=$(stat -c %s "$SNAP/stripped") || st=0
		echo "| $arch | $((s / 1024)) KiB | $((st / 1024)) KiB |"
	else
		echo "| $arch | build failed: $(grep -m1 -iE 'error|undefined' "$RES/static-$arch.log" | cut -c1-120) | |"
	fi
}

{
	echo "# mmlock overhead benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: nproc $(nproc), kernel $(uname -r), CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "- load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- others' BPF links at start / end: $LINKS0 / $("${PY[@]}" links) (they tax every configuration, the untraced one too)"
	echo "- $("$MMLOCK" --version 2>&1 | head -1), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty)')"
	[ -n "$BEFORE" ] && echo "- mmlock-before: $BENCH_BEFORE ($BEFORE_DESC)"
	echo "- command: bench/run.sh $*  (${BENCH_BEFORE:+BENCH_BEFORE=$BENCH_BEFORE }BENCH_DUR=$DUR BENCH_REPS=$REPS BENCH_PIN1=$PIN1 BENCH_DROP_DUR=$DROP_DUR BENCH_SHAPES=\"$SHAPES\" BENCH_CONFIGS=\"$CONFIGS\" BENCH_TAX_SECS=$TAX_SECS BENCH_TAX_CPU=$TAX_CPU BENCH_LOSS_DUR=$LOSS_DUR BENCH_LOSS_REPS=$LOSS_REPS BENCH_LOSS_MECHS=\"$LOSS_MECHS\")"
	echo
	echo "## 1. Workload under each tracer (ratios to the untraced run of the same repetition)"
	echo
	for shape in $SHAPES; do
		if [ "$shape" = 1 ]; then
			echo "Shape 1: \`gcsim --gc-threads 1 --no-ui --mutators 0\`${PIN1:+ pinned to CPU $PIN1}."
		else
			echo "Shape $shape: \`gcsim --gc-threads $shape --no-ui --mutators 0\`, unpinned."
		fi
	done
	echo "Ratios: median (min–max) over the pairs. Throughput ratio < 1 = slower; CPU/ioctl ratio > 1 = costlier."
	echo
	"${PY[@]}" stats "$RUNS"
	echo
	echo "## 2. BPF run time (run-time stats on, one run per tracer and shape)"
	echo
	"${PY[@]}" bpfstats "$STATS"
	echo
	echo "## 3. Static binaries"
	echo
	echo "| arch | mmlock size | stripped |"
	echo "|---|---|---|"
	static_size x86
	if command -v aarch64-linux-gnu-gcc >/dev/null; then static_size arm64; else echo "| arm64 | no cross compiler | |"; fi
	echo
	echo "## 4. Drops: \`mmlock record -q -o J -- gcsim --duration $DROP_DUR\` (4 GC threads, ui, mutator)"
	echo
	if [ -s "$DROPJ" ]; then
		echo "- exit $DROP_RC; $("${PY[@]}" counters "$DROPJ")"
	else
		echo "- no JSON written (exit $DROP_RC): $(tail -2 "$DROPLOG")"
	fi
	echo
	echo "## 5. Tax on the rest of the system (same repetitions as 1, \`bench/syscall_loop\` pinned to CPU $TAX_CPU, ${TAX_SECS}s per loop)"
	echo
	echo "While each tracer records (its -p / pid filter pointed at a sleeping process), an untraced process"
	echo "runs getppid() in a loop, FIONREAD ioctls on a pipe (a non-uffd ioctl, like Android's binder), and"
	echo "a one-byte pipe ping-pong with a second process on the same CPU (2 context switches and 2 wakeups"
	echo "per round trip). uffd probes: the mechanism mmlock's ladder chose for its uffd ioctl probes."
	echo
	if [ -s "$TAX" ]; then "${PY[@]}" taxstats "$TAX"; else echo "(no tax step: BENCH_TAX_SECS=0)"; fi
	if [ -s "$TAXSTATS" ]; then
		echo "BPF run time per program during the tax loops (one more run per tracer with"
		echo "run-time stats on, which add two clock reads to every run):"
		echo
		"${PY[@]}" taxbpf "$TAXSTATS"
	fi
	echo
	echo "## 6. uffd ioctls lost per probe mechanism: \`mmlock record -q -o J [-i 0.1] -- gcsim --duration $LOSS_DUR --json G\`"
	echo
	echo "Per gcsim thread, gcsim's own count of its UFFDIO_MOVE calls against mmlock's. \`-i 0.1\`: live"
	echo "summaries every 0.1 s, i.e. many map reads from userspace, which hold bpf_prog_active on their"
	echo "CPU; perf-based tracepoint programs (syscalls:*) are skipped meanwhile (bpf_prog_misses)."
	echo
	if [ -s "$LOSS" ]; then "${PY[@]}" lossstats "$LOSS"; else echo "(no loss step: BENCH_LOSS_DUR=0 or every run failed)"; fi
	echo
	echo "Total bench time: $(($(date +%s) - START)) s"
} | tee "$RES/RESULTS.md"
exit 0
