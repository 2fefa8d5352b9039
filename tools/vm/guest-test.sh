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

if have mmlock; then
	if v=$(mmlock --version 2>&1); then pass "mmlock --version: $v"; else fail "mmlock --version exited $?: $v"; fi
	if have gcsim; then
		mmlock record -d 2 -- gcsim --duration 2 --space-mb 16 >/tmp/record.out 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			pass "mmlock record -d 2 -- gcsim ($(wc -l </tmp/record.out) lines of output)"
		else
			fail "mmlock record -d 2 -- gcsim exited $rc"
			tail -n 30 /tmp/record.out
		fi
	fi
else
	skip "mmlock: not built for $MMLOCK_VM_ARCH (make ARCH=$MMLOCK_VM_ARCH STATIC=1)"
fi

exit $fails
