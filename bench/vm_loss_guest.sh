#!/bin/sh
# Runs INSIDE a VM-lab guest (busybox sh), started by bench/vm_loss.sh: one
# recording of gcsim's contended default workload per uffd probe mechanism,
# without and with live summaries every 0.1 s, each file printed between
# markers for the host to compare (gcsim's own ioctl counts against mmlock's).
# Then the tax on an untraced process under each mechanism (syscall_loop, as
# bench/run.sh's step 5), TAX_ROUNDS rotating rounds, printed as
# "MMLOCK-TAX MECH ROUND <syscall_loop's line>": ratios within this guest only.
# Environment: LOSS_DUR (s per run), LOSS_MECHS (fentry tp_btf tracepoint),
# TAX_ROUNDS (0: none), TAX_SECS.
echo "guest: $(uname -r), preempt: $(cat /sys/kernel/debug/sched/preempt 2>/dev/null || echo '?')"
dur=${LOSS_DUR:-3}
mechs=${LOSS_MECHS:-fentry tp_btf tracepoint}
fails=0
# refuse MECH: every better mechanism than MECH for the uffd probes (the ladder's order).
refuse() {
	case $1 in
	fentry) echo "" ;;
	kprobe) echo uffd_ioctl_fexit,uffd_ioctl_fentry ;;
	tp_btf) echo uffd_ioctl_fexit,uffd_ioctl_fentry,uffd_ioctl_kretprobe,uffd_ioctl_kprobe ;;
	tracepoint) echo uffd_ioctl_fexit,uffd_ioctl_fentry,uffd_ioctl_kretprobe,uffd_ioctl_kprobe,uffd_ioctl_exit_btf,uffd_ioctl_enter_btf ;;
	esac
}
for mech in $mechs; do
	refuse=$(refuse "$mech")
	for iv in none 0.1; do
		ivopt=""
		[ "$iv" = none ] || ivopt="-i $iv"
		rm -f /tmp/m.json /tmp/g.json
		# shellcheck disable=SC2086
		if MMLOCK_REFUSE_ATTACH=$refuse mmlock record -q --min-slice 1000s -o /tmp/m.json $ivopt -- \
			gcsim --duration "$dur" --space-mb 64 --json /tmp/g.json >/tmp/log 2>&1; then
			for f in m g; do
				echo "MMLOCK-LOSS-BEGIN $f $mech $iv"
				cat /tmp/$f.json
				echo
				echo "MMLOCK-LOSS-END"
			done
		else
			echo "FAIL: $mech -i $iv: mmlock record exited $?"
			tail -5 /tmp/log
			fails=$((fails + 1))
		fi
	done
done

r=1
while [ "$r" -le "${TAX_ROUNDS:-3}" ]; do
	# Rotate the order each round.
	set -- none $mechs
	k=0
	while [ $k -lt "$r" ]; do first=$1; shift; set -- "$@" "$first"; k=$((k + 1)); done
	for mech in "$@"; do
		pid=""
		if [ "$mech" != none ]; then
			MMLOCK_REFUSE_ATTACH=$(refuse "$mech") mmlock record -o /tmp/t.json >/tmp/tlog 2>&1 &
			pid=$!
			w=0
			while ! grep -q '^mmlock: recording' /tmp/tlog && [ $w -lt 600 ]; do sleep 0.1; w=$((w + 1)); done
		fi
		for mode in getppid fionread pipe; do
			echo "MMLOCK-TAX $mech $r $(taskset -c 1 syscall_loop $mode "${TAX_SECS:-1}")"
		done
		[ -z "$pid" ] || { kill -INT $pid; wait $pid; }
	done
	r=$((r + 1))
done
exit $fails
