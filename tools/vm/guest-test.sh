#!/bin/sh
# Runs INSIDE a VM-lab guest (busybox sh, as /test.sh, cwd /mmlock) under
# tools/vm/vmtest.sh. The static binaries the host built (mmlock, gcsim) are
# in /mmlock/, on PATH. Prints PASS:/FAIL:/SKIP: lines (vmtest.sh shows them
# under the kernel's result line) and exits with the number of failures.
# Environment: MMLOCK_VM_ID (x86-6.1...), MMLOCK_VM_ARCH, MMLOCK_VM_RELEASE.
#
# Placeholder so far: extend with real checks (per-kernel expectations can
# switch on $MMLOCK_VM_ID, e.g. fentry attach fails with 524 on arm64-6.1,
# UFFDIO_MOVE needs >= 6.8).

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }

echo "guest: ${MMLOCK_VM_ID:-?} $(uname -r) $(uname -m), $(nproc) cpus, $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)"

# The environment mmlock relies on.
if [ -r /sys/kernel/btf/vmlinux ]; then pass "kernel BTF"; else fail "kernel BTF: no /sys/kernel/btf/vmlinux"; fi
if [ -d /sys/kernel/tracing/events/lock/contention_begin ]; then
	pass "tracepoint lock:contention_begin"
else
	fail "tracepoint lock:contention_begin missing"
fi

if have gcsim; then
	if gcsim --duration 1 --space-mb 16 --json /tmp/gcsim.json >/tmp/gcsim.out 2>&1; then
		pass "gcsim --duration 1 runs"
	else
		fail "gcsim --duration 1 exited $?"
		tail -n 20 /tmp/gcsim.out
	fi
else
	skip "gcsim: not built for $MMLOCK_VM_ARCH"
fi

# ---- mmlock on this kernel ([ladder] and [android]) ----
# json_probe FILE NAME: the mechanism probe NAME got.
json_probe() {
	awk -F'"' -v want="$2" '/"name":/ { n = $4 } /"mechanism":/ && n == want { print $4; exit }' "$1"
}
# json_count FILE KIND CLASS SITE: summed count of those histograms (stacks excluded).
json_count() {
	awk -F'"' -v k="$2" -v c="$3" -v s="$4" '
		/"hists": \[/ { in_h = 1 } /"stacks": \[/ { in_h = 0 }
		/"kind":/ { kind = $4 } /"class":/ { cls = $4 } /"command":/ { cls = $4 } /"site":/ { site = $4 }
		/"count":/ && in_h && kind == k && cls == c && (s == "*" || site == s) {
			split($0, a, ": "); sum += a[2] + 0 }
		END { print sum + 0 }' "$1"
}
# json_sum FILE KEY: sum of a numeric key over the file ("failed", ...).
json_sum() {
	awk -v key="\"$2\":" '$1 == key { v = $2; sub(",", "", v); sum += v } END { print sum + 0 }' "$1"
}
# json_lock_pairs FILE: "class site count" for lock waits (stacks excluded).
json_lock_pairs() {
	awk -F'"' '
		/"hists": \[/ { in_h = 1 } /"stacks": \[/ { in_h = 0 }
		/"kind":/ { kind = $4 } /"class":/ { cls = $4 } /"site":/ { site = $4 }
		/"count":/ && in_h && kind == "lock" { split($0, a, ": "); n[cls " " site] += a[2] + 0 }
		END { for (p in n) print p, n[p] }' "$1" | sort
}

# json_start FILE: when the recording started (boot clock, ns).
json_start() {
	awk '$1 == "\"start_ns\":" { v = $2; sub(",", "", v); print v; exit }' "$1"
}
# json_irq_waits FILE [SINCE_NS]: the lock waits in interrupt context, one line
# each: "hist CLASS SITE count N tid T" (tid 0's histograms), then the events
# "event CLASS SITE dur_ns D tid T interrupted_tid I at FRAMES", and the
# counters that say why a wait could go unseen. Events (of any context) that
# began before SINCE_NS are marked: the other recorder was not recording yet.
# For a failed comparison of two recordings.
json_irq_waits() {
	awk -F'"' -v since="${2:-0}" '
		/^ "counters": \{/ { sec = "c" } /^ "probes": \[/ { sec = "" }
		/^ "threads": \[/ { sec = "t" } /^ "samples": \[/ { sec = "" } /^ "events": \[/ { sec = "e" }
		sec == "c" && /"(bpf_prog_misses|spin_event_lost|wait_begin_skipped|wait_end_skipped|spin_end_lost|spin_frame_stale|wait_end_unmatched|spin_hist_full|events_not_kept|exec_ctx_mismatch)":/ {
			split($0, a, ": "); sub(",", "", a[2]); cnt = cnt " " $2 "=" a[2] }
		sec == "t" && /^   "tid":/ { split($0, a, ": "); tid = a[2] + 0 }
		sec == "t" && /"hists": \[/ { in_h = 1 } sec == "t" && /"stacks": \[/ { in_h = 0 }
		sec == "t" && /"kind":/ { kind = $4 } sec == "t" && /"class":/ { cls = $4 } sec == "t" && /"site":/ { site = $4 }
		sec == "t" && /"count":/ && in_h && kind == "lock" && (tid == 0 || site ~ /irq|nmi/) {
			split($0, a, ": "); print "      hist " cls " " site " count " a[2] + 0 " tid " tid }
		sec == "e" && /^  \{/ { ek = ec = es = fr = ""; ets = ed = et = ei = nf = 0; past = 0 }
		sec == "e" && /^    "/ { if (past && nf < 4) { fr = fr " " $2; nf++ } if ($2 ~ /spin_lock_slowpath/) past = 1 }
		sec == "e" && /^   "kind":/ { ek = $4 } sec == "e" && /^   "class":/ { ec = $4 } sec == "e" && /^   "site":/ { es = $4 }
		sec == "e" && /^   "(ts_ns|dur_ns|tid|interrupted_tid)":/ { split($0, a, ": "); v = a[2]; sub(",", "", v)
			if ($2 == "ts_ns") ets = v; else if ($2 == "dur_ns") ed = v + 0; else if ($2 == "tid") et = v + 0; else ei = v + 0 }
		sec == "e" && /^  \}/ && ek == "lock" && (et == 0 || es ~ /irq|nmi/ || (since && ets + 0 < since + 0)) {
			print "      event " ec " " es " dur_ns " ed " tid " et " interrupted_tid " ei (fr != "" ? " at" fr : "") \
				(since && ets + 0 < since + 0 ? " (before the other recorder started)" : "") }
		END { print "      counters:" cnt }' "$1"
}

# What this kernel should give (measured: docs/vm-lab.md).
case "${MMLOCK_VM_ID:-}" in
arm64-6.1) deep=kprobe ;;		# fentry loads but attach fails with 524
*) deep=fentry ;;
esac
case "${MMLOCK_VM_RELEASE:-$(uname -r)}" in
6.1.*) move=no ;;			# UFFDIO_MOVE arrived in 6.8
7.*|6.19*|6.2[0-9]*) move=nolock ;;	# 6.19 dropped the anon_vma lock from MOVE
*) move=lock ;;
esac

if have mmlock && have gcsim; then
	G="gcsim --space-mb 16 --gc-threads 2 --mutators 0 --no-ui"
	mmlock record -v --max-events 200 --json /tmp/auto.json --perfetto /tmp/auto.pftrace -- \
		$G --duration 3 --json /tmp/g.json >/tmp/auto.out 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then pass "record (auto) -- gcsim"; else fail "record (auto) exited $rc"; tail -n 30 /tmp/auto.out; fi
	if [ -s /tmp/auto.pftrace ]; then pass "Perfetto trace written ($(wc -c </tmp/auto.pftrace) bytes)"; else fail "no Perfetto trace"; fi
	if grep -q '"tid":' /tmp/auto.json 2>/dev/null; then pass "recording has threads"; else fail "recording has no threads"; fi
	for p in contention_begin contention_end sched_switch sched_wakeup; do
		m=$(json_probe /tmp/auto.json $p)
		if [ "$m" = tp_btf ]; then pass "$p: tp_btf"; else fail "$p: '$m', expected tp_btf"; fi
	done
	# The preempt count's context agrees with the stack's (bpf/exec_ctx.bpf.h):
	# the masks are constants, a kernel that moved its bits would show here.
	mis=$(grep -o '"exec_ctx_mismatch": *[0-9]*' /tmp/auto.json | grep -o '[0-9]*$')
	if [ "${mis:-x}" = 0 ]; then pass "execution context: preempt count and stack agree (exec_ctx_mismatch 0)"
	else fail "exec_ctx_mismatch ${mis:-missing}: this kernel's preempt-count layout differs"; fi
	want_exit=$([ $deep = fentry ] && echo fexit || echo kprobe)
	# The uffd probes prefer kprobes (fentry loses runs on preemptible kernels: src/record/ladder.c).
	for pm in "uffd_ioctl_enter kprobe" "anon_vma_down_write $deep" "anon_vma_up_write $deep" \
		  "rmap_walk_anon $deep" "folio_lock $deep" "rwsem_spin $deep" "uffd_ioctl_exit kprobe" \
		  "anon_vma_trylock $want_exit"; do
		set -- $pm
		m=$(json_probe /tmp/auto.json "$1")
		if [ "$m" = "$2" ]; then pass "$1: $m"; else fail "$1: got '$m', expected $2"; grep -A3 "\"$1\"" /tmp/auto.json | head -4; fi
	done
	if [ $deep = kprobe ]; then
		if grep -q 'fentry: attach' /tmp/auto.json; then
			pass "fentry refused at attach, and the recording says so"
		else
			fail "no 'fentry: attach' refusal recorded"
		fi
	fi
	cmd=UFFDIO_MOVE site=uffd_move
	[ $move = no ] && cmd=UFFDIO_COPY site=uffd_copy
	n=$(json_count /tmp/auto.json ioctl $cmd "*")
	if [ "$n" -gt 0 ]; then pass "$cmd latency recorded ($n ioctls)"; else fail "no $cmd ioctls recorded"; fi
	tries=$(json_count /tmp/auto.json trylock anon_vma_write "$site")
	failed=$(json_sum /tmp/auto.json failed)
	echo "    anon_vma write trylocks at $site: $tries, failed: $failed"
	case $move in
	lock)
		if [ "$tries" -gt 0 ] && [ "$failed" -gt 0 ]; then
			pass "UFFDIO_MOVE takes the anon_vma write lock: $tries trylocks, $failed failed"
		else
			fail "expected anon_vma write trylocks (and failures) from UFFDIO_MOVE: $tries / $failed"
		fi
		h=$(json_count /tmp/auto.json hold anon_vma_write uffd_move)
		if [ "$h" -gt 0 ]; then pass "anon_vma write hold times at uffd_move: $h"; else fail "no hold times"; fi ;;
	nolock)
		if [ "$tries" -eq 0 ]; then
			pass "UFFDIO_MOVE no longer takes the anon_vma lock (0 trylocks)"
		else
			fail "anon_vma write trylocks from UFFDIO_MOVE on a 6.19+ kernel: $tries"
		fi ;;
	no)
		n=$(json_count /tmp/auto.json lock anon_vma_write uffd_copy)
		if [ "$n" -eq 0 ]; then pass "no anon_vma write waits under UFFDIO_COPY"; else fail "anon_vma write waits under COPY: $n"; fi ;;
	esac

	# The same waits, classified by the tracepoint path and by auto at once:
	# two recorders on one workload see the same contention events.
	# gcsim waits on a FIFO until both recorders say they are recording.
	rm -f /tmp/go && mkfifo /tmp/go
	gcsim --space-mb 16 --gc-threads 2 --mutators 0 --no-ui --duration 3 --go-fd 3 \
		3<>/tmp/go >/tmp/g2.out 2>&1 &
	gpid=$!
	mmlock record -p $gpid --mode tracepoint --json /tmp/tp.json >/tmp/tp.out 2>&1 &
	t1=$!
	mmlock record -p $gpid --json /tmp/both.json >/tmp/both.out 2>&1 &
	t2=$!
	i=0
	until grep -q 'recording' /tmp/tp.out && grep -q 'recording' /tmp/both.out; do
		i=$((i + 1))
		[ $i -gt 600 ] && break
		sleep 0.1
	done
	go_at=$(cut -d' ' -f1 /proc/uptime)
	echo go >/tmp/go
	wait $gpid
	wait $t1; r1=$?
	wait $t2; r2=$?
	if [ $r1 -eq 0 ] && [ $r2 -eq 0 ]; then pass "two recorders side by side"; else fail "side-by-side recorders exited $r1/$r2"; tail -n 5 /tmp/tp.out /tmp/both.out; fi
	m=$(json_probe /tmp/tp.json uffd_ioctl_enter)
	case "$m" in tp_btf|tracepoint) pass "--mode tracepoint: uffd ioctls via $m" ;; *) fail "--mode tracepoint gave '$m'" ;; esac
	json_lock_pairs /tmp/tp.json | grep -v folio_lock >/tmp/tp.pairs
	json_lock_pairs /tmp/both.json | grep -v folio_lock >/tmp/both.pairs
	echo "    lock waits (class site count), tracepoint | auto:"
	paste /tmp/tp.pairs /tmp/both.pairs | sed 's/^/      /'
	same=1
	# Every class x site either recording has (one only auto has differs too).
	while read -r c s n m2; do
		# Same tracepoints, same classifier: equal but for the start/stop skew.
		d=$((n > m2 ? n - m2 : m2 - n))
		[ $d -le $((n / 5 + 3)) ] || { same=0; echo "      differs: $c $s $n vs $m2"; }
	done <<EOF
$(awk 'FNR == NR { tp[$1 " " $2] = $3; next } { au[$1 " " $2] = $3 }
	END { for (k in tp) print k, tp[k], au[k] + 0; for (k in au) if (!(k in tp)) print k, 0, au[k] }' \
	/tmp/tp.pairs /tmp/both.pairs)
EOF
	if [ $same = 1 ]; then
		pass "lock waits classified the same by both paths"
	else
		fail "classification differs between tracepoint and auto"
		# Each recorder sees the target from its own start: what one saw
		# before the other started is no loss (gcsim is idle until the go).
		s1=$(json_start /tmp/tp.json) s2=$(json_start /tmp/both.json)
		echo "    recording from (s since boot): tracepoint $(awk -v n="$s1" 'BEGIN { printf "%.3f", n / 1e9 }')," \
			"auto $(awk -v n="$s2" 'BEGIN { printf "%.3f", n / 1e9 }'); gcsim's go at $go_at"
		for r in tp both; do
			other=$s2
			[ $r = both ] && other=$s1
			echo "    $r.json: lock waits in interrupt context, and the loss counters:"
			json_irq_waits /tmp/$r.json "$other"
		done
	fi
	# The recording goes back to the host (between markers) for mmlock diff.
	# Kernel messages go to the same console and may land inside a line: the
	# host drops them, leaving a string cut in two (a broken JSON, seen once
	# on 7.2). So the console takes only emergencies while it is printed.
	lvl=$(cut -f1 /proc/sys/kernel/printk 2>/dev/null)
	echo 1 >/proc/sys/kernel/printk 2>/dev/null
	echo "MMLOCK-JSON-BEGIN auto"
	cat /tmp/auto.json
	echo "MMLOCK-JSON-END"
	# A failed comparison keeps both of its recordings (guest-json.sh ID tp|both).
	if [ $same = 0 ]; then
		for r in tp both; do
			echo "MMLOCK-JSON-BEGIN $r"
			cat /tmp/$r.json
			echo "MMLOCK-JSON-END"
		done
	fi
	[ -n "$lvl" ] && echo "$lvl" >/proc/sys/kernel/printk 2>/dev/null
else
	skip "mmlock or gcsim not built for ${MMLOCK_VM_ARCH:-?}"
fi

exit $fails
