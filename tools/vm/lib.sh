# shellcheck shell=bash disable=SC2034
# Shared helpers for the mmlock VM lab (sourced by tools/vm/*.sh).
# Nothing here is specific to one kernel: versions live in kernels.conf.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_TOP=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${MMLOCK_VM_CACHE:-/var/cache/mmlock-vm}
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
