# shellcheck shell=bash disable=SC2034
# Shared helpers for the mmlock VM lab (sourced by tools/vm/*.sh).
# Nothing here is specific to one kernel: versions live in kernels.conf.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/vm/tcg-artifact.sh disable=SC1091
. "$VM_DIR/tcg-artifact.sh"
VM_TOP=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${MMLOCK_VM_CACHE:-/var/cache/mmlock-vm}
# Consoles, summaries and guest outputs. Per run where runs may overlap: the
# tests give each their own (two suites on one machine, or a test next to
# `make vmstress`, once read each other's x86-6.17.guest).
VM_LOGS=${MMLOCK_VM_LOGS:-$VM_CACHE/logs}
VM_CONF=${MMLOCK_VM_CONF:-$VM_DIR/kernels.conf}
VM_MIRROR=${MMLOCK_VM_MIRROR:-http://deb.debian.org/debian}
VM_SECURITY_MIRROR=${MMLOCK_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

vm_die() { echo "mmlock-vm: error: $*" >&2; exit 1; }
vm_log() { echo "mmlock-vm: $*" >&2; }

# vm_conf_lines ID: the kernels.conf rows of ID (comments stripped).
vm_conf_lines() {
	sed -e 's/#.*//' "$VM_CONF" | awk -v id="$1" 'NF >= 8 && $1 == id'
}

# vm_ids: every kernel id in kernels.conf, in file order.
vm_ids() {
	sed -e 's/#.*//' "$VM_CONF" | awk 'NF >= 8 && !seen[$1]++ { print $1 }'
}

# vm_arch ID: x86 | arm64 (the project's ARCH= names).
vm_arch() {
	case "$1" in
	x86-*) echo x86 ;;
	arm64-*) echo arm64 ;;
	*) vm_die "kernel id '$1' must start with x86- or arm64-" ;;
	esac
}

# vm_kdir ID: where fetch-kernel.sh leaves the kernel of ID.
vm_kdir() { echo "$VM_CACHE/kernels/$1"; }

# vm_sha256_ok FILE SHA: true if FILE exists and has that SHA256.
vm_sha256_ok() {
	[ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

# Run ids: a kernels.conf id, or an x86 id with "-nohv" appended. A -nohv run
# boots the same kernel with `-cpu max,-hypervisor`: without the CPUID
# hypervisor bit the guest takes the real qspinlock slow path (as on bare
# metal, under KVM with PV spinlocks and on arm64), so spinlock waits reach
# lock:contention_begin/end. With the bit set, virt_spin_lock() returns
# before the tracepoints and no spin wait is ever reported (docs/vm-lab.md).

# vm_base_id ID: the kernels.conf id a run id boots.
vm_base_id() { echo "${1%-nohv}"; }

# vm_nohv ID: true for a run without the hypervisor bit.
vm_nohv() { [ "${1%-nohv}" != "$1" ]; }

# vm_check_id ID: dies unless ID is a known run id.
vm_check_id() {
	local base
	base=$(vm_base_id "$1")
	[ -n "$(vm_conf_lines "$base")" ] || vm_die "unknown kernel id '$1' (known: $(vm_all_ids | tr '\n' ' '))"
	if vm_nohv "$1" && [ "$(vm_arch "$base")" != x86 ]; then
		vm_die "'$1': -nohv is for x86 guests (arm64 has no CPUID hypervisor bit and reports spin waits as is)"
	fi
	return 0
}

# vm_all_ids: every run id: the kernels.conf ids, then the x86 ones with -nohv.
vm_all_ids() {
	vm_ids
	vm_ids | awk '/^x86-/ { print $0 "-nohv" }'
}

# vm_free_port: a TCP port on 127.0.0.1 that nothing listens on right now
# (for qemu's gdbstub; other VM-lab runs may be up at the same time).
vm_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# vm_build ARCH LOGDIR BIN...: make ARCH=ARCH STATIC=1 build/ARCH-static/BIN for
# each BIN (log in LOGDIR/build-ARCH-BIN.log, a / in BIN as -). One line per binary;
# returns non-zero if any failed (its log tail is printed).
vm_build() {
	local a=$1 logdir=$2 bin t0 rc=0 blog
	shift 2
	for bin in "$@"; do
		t0=$SECONDS
		blog=$logdir/build-$a-${bin//\//-}.log
		if make -C "$VM_TOP" --no-print-directory ARCH="$a" STATIC=1 "build/$a-static/$bin" \
			>"$blog" 2>&1; then
			echo "vm: built build/$a-static/$bin ($((SECONDS - t0))s)"
		else
			echo "vm: *** make ARCH=$a STATIC=1 build/$a-static/$bin FAILED (log: $blog):"
			tail -n 5 "$blog" | sed 's/^/    | /'
			rc=1
		fi
	done
	return $rc
}

# vm_retry_reason LOG: why a failed boot whose console is LOG may be booted
# once more, or nothing (exit 1) when it may not. Two failures no code under
# test can have caused:
#  - "Oops: int3": qemu's multi-threaded TCG ran a stale translation of kernel
#    text that text_poke was patching (a tracepoint or fentry attach/detach);
#    the guest dies on an int3 no patch owns, with or without mmlock
#    (docs/vm-lab.md, "Stale int3: confirmed without mmlock");
#  - the same artifact's hang and lockup forms on 6.1 (an int3 loop in the
#    handler or at its site, a soft lockup on a jump label), told by the
#    rules `make vmstress` reboots for (tools/vm/tcg-artifact.sh: no BPF
#    program on any stack, tested both ways by vm_artifact) from the vCPU
#    dump run.sh leaves in LOG.stacks, or from the console. Seen in
#    vm_matrix's x86-6.1 (-cpu max) in a fresh-clone run: a recorder closing
#    its sched_switch link, the other vCPU looping on __schedule's site;
#  - the guest kernel started ("Linux version") but died or hung before /init
#    printed MMLOCK-VM-BEGIN: nothing of the test had run yet (seen once,
#    x86-6.12 in vm_matrix: "Fatal exception in interrupt" 4.5 s into boot).
# Anything else (another hang, lockup or panic after the test began, a FAIL
# line, a run.sh error before qemu started) is never retried.
vm_retry_reason() {
	[ -r "$1" ] || return 1
	local form
	if form=$(tcg_artifact "$1"); then
		echo "a TCG text-poke int3 (emulator artifact: $form)"
	elif grep -q 'Linux version' "$1" && ! grep -q 'MMLOCK-VM-BEGIN' "$1"; then
		echo "the guest kernel died before the test began: $(grep -m1 -oE '(Kernel panic|BUG:|Oops).*' "$1" | tr -d '\r' || true)"
	else
		return 1
	fi
}

# vm_keep_console LOG KIND: copies the console LOG (and its vCPU dump
# LOG.stacks, if any) to $VM_CACHE/logs/KIND/, named by time, pid and LOG's
# name, and prints the copy's path (LOG itself when the copy fails). The VM
# tests' log directories are temporary: without a copy, the console of the
# failure a fresh-clone run hit is gone with it (a double "Oops: int3" on
# x86-6.17 was, 2026-12-01). The newest VM_KEEP_MAX (default 40) consoles of
# each KIND stay; the cache would grow without bound on a CI machine.
vm_keep_console() {
	local log=$1 dir=$VM_CACHE/logs/$2 keep f i n kept=()
	keep=$dir/$(date +%Y%m%d-%H%M%S.%N)-$$-$(basename "$log")
	if ! mkdir -p "$dir" || ! cp "$log" "$keep" 2>/dev/null; then
		echo "$log"
		return
	fi
	[ -e "$log.stacks" ] && cp "$log.stacks" "$keep.stacks" 2>/dev/null
	# Names begin with the time, and a glob sorts: the oldest come first.
	for f in "$dir"/*; do
		[[ $f == *.stacks ]] || kept+=("$f")
	done
	n=$((${#kept[@]} - ${VM_KEEP_MAX:-40}))
	for ((i = 0; i < n; i++)); do
		rm -f "${kept[i]}" "${kept[i]}.stacks"
	done
	echo "$keep"
}

# vm_run_retry LOG OUT CMD...: runs CMD (a tools/vm/run.sh command line whose
# console log is LOG), its stdout into OUT, and once more when the failure is
# one vm_retry_reason names. The first console is kept as LOG.retry and, as
# the tests' log directories are temporary, under $VM_CACHE/logs/retried/;
# a line on stderr says why. Any other failure is returned as it is, its
# console kept under $VM_CACHE/logs/failed/ and named on stderr.
vm_run_retry() {
	local log=$1 out=$2 rc why keep
	shift 2
	rm -f "$log.retry"
	"$@" >"$out"
	rc=$?
	if [ $rc -ne 0 ] && why=$(vm_retry_reason "$log"); then
		mv "$log" "$log.retry"
		[ -e "$log.stacks" ] && mv "$log.stacks" "$log.retry.stacks"
		keep=$(vm_keep_console "$log.retry" retried)
		vm_log "guest failed on $why, booting once more; first console: $keep"
		"$@" >"$out"
		rc=$?
	fi
	if [ $rc -ne 0 ] && [ -s "$log" ]; then
		vm_log "guest failed (exit $rc); console kept: $(vm_keep_console "$log" failed)"
	fi
	return $rc
}

# vm_console_problems LOG: the guest kernel's problems in a run.sh console log,
# one per line: the dmesg lines /init tagged MMLOCK-VM-DMESG:, and kernel
# messages printed straight on the console before /init began (a panic at
# boot). After MMLOCK-VM-BEGIN only tagged lines count: the kernel prints on
# the console at any time (a starved vCPU's "hrtimer: interrupt took N ns"),
# and the test script's own output may contain these words. A tagged line
# counts wherever it stands, not only between the DMESG markers: a kernel
# message printed mid-line splits a marker, and a split DMESG-BEGIN used to
# hide every tagged line after it. No kernel message can precede a tag on its
# line, since each ends with a newline.
vm_console_problems() {
	sed -n 's/^MMLOCK-VM-DMESG: //p' "$1"
	sed '/MMLOCK-VM-BEGIN/,$d' "$1" | grep -E 'Kernel panic|BUG:|Oops|WARNING:'
	return 0
}
