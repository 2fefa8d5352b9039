#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Lost uffd ioctls per probe mechanism on a preemptible kernel:
#   bench/vm_loss.sh [ID] [PREEMPT...]     (root; default x86-6.12, "none full")
# The host kernel here is PREEMPT_NONE: a map syscall that holds bpf_prog_active
# cannot be preempted there, so the perf-based syscalls:* tracepoint programs
# are never skipped for another task's ioctl and bench/run.sh's loss step
# cannot show the effect. Android's GKI kernels are preemptible. This boots a
# pinned Debian kernel of the VM lab (tools/vm) with preempt=MODEL for each
# model and runs bench/vm_loss_guest.sh in it: gcsim's contended default
# workload under mmlock with its uffd probes on fentry (the ladder's choice
# there), raw_syscalls tp_btf and syscalls tracepoints, without and with
# `-i 0.1`; then the tax on an untraced process (bench/syscall_loop) under
# each mechanism as ratios within the guest (TAX_ROUNDS rotating rounds of
# TAX_SECS per loop; TCG timing on a loaded host is too noisy for anything but
# large effects). Prints the bench.py lossstats table and the tax tables; raw
# data in ${BENCH_RES:-build/x86/bench}/vm_loss.jsonl.
# Environment: LOSS_DUR (s, default 3), TAX_ROUNDS (default 3, 0 = none), TAX_SECS (1),
#   LOSS_MECHS (default "fentry tp_btf tracepoint"; kprobe too).
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ID=${1:-x86-6.12}
shift
MODELS=${*:-none full}
BIN=$ROOT/build/x86-static
RES=${BENCH_RES:-$ROOT/build/x86/bench}
OUTF=$RES/vm_loss.jsonl
mkdir -p "$RES"
make -C "$ROOT" -s ARCH=x86 STATIC=1 "build/x86-static/mmlock" "build/x86-static/gcsim" >&2 || exit 1
D=$(mktemp -d "${TMPDIR:-/tmp}/mmlock-vmloss.XXXXXX")
trap 'rm -rf "$D"' EXIT
gcc -O2 -Wall -Wextra -Werror -static -o "$D/syscall_loop" "$HERE/syscall_loop.c" || exit 1
: >"$OUTF"
for m in $MODELS; do
	"$ROOT/tools/vm/run.sh" -q -t 900 -a "preempt=$m" -e "LOSS_DUR=${LOSS_DUR:-3}" \
		-e "TAX_ROUNDS=${TAX_ROUNDS:-3}" -e "TAX_SECS=${TAX_SECS:-1}" \
		-e "LOSS_MECHS=${LOSS_MECHS:-fentry tp_btf tracepoint}" \
		-l "$D/console-$m.log" "$ID" "$HERE/vm_loss_guest.sh" "$BIN/mmlock" "$BIN/gcsim" "$D/syscall_loop" ||
		echo "vm_loss: guest with preempt=$m exited $? (console: see below)" >&2
	grep -m1 '^guest:' "$D/console-$m.log" >&2
	grep '^FAIL:' "$D/console-$m.log" >&2
	# Each recording and gcsim's JSON between markers: MMLOCK-LOSS-BEGIN {m|g} MECH IV.
	awk -v d="$D" -v m="$m" '
		/^MMLOCK-LOSS-BEGIN / { f = d "/" m "-" $3 "-" $4 "." $2 ".json"; next }
		/^MMLOCK-LOSS-END/ { close(f); f = ""; next }
		f { print > f }' "$D/console-$m.log"
	for g in "$D/$m"-*.g.json; do
		[ -e "$g" ] || continue
		b=$(basename "$g" .g.json)
		IFS=- read -r _ mech iv <<<"$b"
		python3 "$HERE/bench.py" loss --config "preempt=$m mmlock-$mech" --interval "$iv" --rep 1 \
			"$D/$b.m.json" "$g" >>"$OUTF" || echo "vm_loss: $b unreadable" >&2
	done
done
python3 "$HERE/bench.py" lossstats "$OUTF"
echo
# The tax lines: "MMLOCK-TAX MECH ROUND MODE ops N wall_ns W cpu_ns C p10_ns P p50_ns Q".
for m in $MODELS; do
	grep -q '^MMLOCK-TAX ' "$D/console-$m.log" || continue
	echo "Tax on an untraced process in the guest (preempt=$m), ns per op from the 10th percentile of batch times, median over rounds; ratio to none in the same round, median (min–max):"
	echo
	grep '^MMLOCK-TAX ' "$D/console-$m.log" | python3 -c '
import sys, statistics as st
rows = [l.split() for l in sys.stdin]
per = {}
for r in rows:
    per[(r[1], int(r[2]), r[3])] = float(r[11])
mechs = []
for r in rows:
    if r[1] not in mechs:
        mechs.append(r[1])
modes = ("getppid", "fionread", "pipe")
print("| uffd probes | " + " | ".join(f"{m} ns/op | ratio" for m in modes) + " |")
print("|---|" + "---|---|" * len(modes))
for me in mechs:
    cells = []
    for mo in modes:
        xs = [v for (a, _, c), v in per.items() if a == me and c == mo]
        rs = sorted(v / per[("none", r, c)] for (a, r, c), v in per.items()
                    if a == me and c == mo and ("none", r, c) in per)
        cells.append(f"{st.median(xs):,.0f}" if xs else "–")
        cells.append(f"{st.median(rs):.2f} ({rs[0]:.2f}–{rs[-1]:.2f})" if rs else "–")
    print(f"| {me} | " + " | ".join(cells) + " |")
'
	echo
done
