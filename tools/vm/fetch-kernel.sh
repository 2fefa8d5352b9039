#!/usr/bin/env bash
# Downloads the Debian kernel .deb(s) pinned for ID in tools/vm/kernels.conf
# and unpacks the kernel image (and its config) into the cache:
#   $MMLOCK_VM_CACHE/kernels/ID/kernel    bzImage (x86) or Image (arm64)
#   $MMLOCK_VM_CACHE/kernels/ID/config    the kernel's .config (if shipped)
#   $MMLOCK_VM_CACHE/kernels/ID/release   uname -r of the guest
# Idempotent: does nothing when the cache already holds a verified kernel.
# Never installs a package and never touches apt's sources.
# Usage: tools/vm/fetch-kernel.sh ID...   (or --all, or --list)
set -euo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

usage() { echo "usage: $0 ID... | --all | --list   (ids: $(vm_ids | tr '\n' ' '))" >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in
--list) vm_ids; exit 0 ;;
--all) mapfile -t ids < <(vm_ids); set -- "${ids[@]}" ;;
-h|--help) usage ;;
esac

# fetch_deb SUITE PKG DEBARCH VER SHA FILENAME: puts a verified .deb in $VM_CACHE/debs
# and prints its path.
fetch_deb() {
	local suite=$1 pkg=$2 debarch=$3 ver=$4 sha=$5 filename=$6
	local dir=$VM_CACHE/debs deb
	deb=$dir/$(basename "$filename")
	mkdir -p "$dir"
	if vm_sha256_ok "$deb" "$sha"; then echo "$deb"; return; fi
	rm -f "$deb"
	case "$suite" in
	bookworm|bookworm-*)
		# In the host's apt sources: let apt fetch it (it checks the index too).
		vm_log "apt-get download $pkg:$debarch=$ver"
		(cd "$dir" && apt-get download -q "$pkg:$debarch=$ver" >&2 2>/dev/null) || true
		# apt names the file after the package, which for kernels equals the pool name.
		[ -f "$deb" ] || deb=$(ls "$dir/${pkg}_"*"_$debarch.deb" 2>/dev/null | head -n1 || true)
		;;
	esac
	if ! vm_sha256_ok "${deb:-/nonexistent}" "$sha"; then
		# Not in apt's sources (trixie-backports, sid...), or gone from the index:
		# take the pool file straight from the archive.
		local root=$VM_MIRROR
		case "$suite" in *-security) root=$VM_SECURITY_MIRROR ;; esac
		deb=$dir/$(basename "$filename")
		vm_log "downloading $root/$filename"
		curl -fsSL --retry 3 -o "$deb.part" "$root/$filename" ||
			vm_die "download of $pkg $ver failed ($root/$filename); if the archive dropped it, bump kernels.conf"
		mv "$deb.part" "$deb"
	fi
	vm_sha256_ok "$deb" "$sha" || { rm -f "$deb"; vm_die "$pkg $ver: SHA256 mismatch (expected $sha)"; }
	echo "$deb"
}

# verify_kernel ARCH FILE: the image is the kind qemu -kernel boots directly.
verify_kernel() {
	local arch=$1 f=$2
	[ -s "$f" ] || return 1
	case "$arch" in
	x86) [ "$(dd if="$f" bs=1 skip=514 count=4 status=none)" = HdrS ] ;;  # bzImage header
	arm64) [ "$(dd if="$f" bs=1 skip=56 count=4 status=none | od -An -tx1 | tr -d ' \n')" = 41524d64 ] ;;  # "ARM\x64"
	esac
}

fetch_one() {
	local id=$1 arch kdir tmp lines
	arch=$(vm_arch "$id")
	kdir=$(vm_kdir "$id")
	lines=$(vm_conf_lines "$id")
	[ -n "$lines" ] || vm_die "unknown kernel id '$id' (known: $(vm_ids | tr '\n' ' '))"
	# Stamp = the pinned rows: a changed pin invalidates the cached kernel.
	if [ -f "$kdir/pin" ] && [ "$(cat "$kdir/pin")" = "$lines" ] && verify_kernel "$arch" "$kdir/kernel"; then
		vm_log "$id: cached $(cat "$kdir/release") in $kdir"
		return 0
	fi
	tmp=$(mktemp -d "$VM_CACHE/.extract.XXXXXX")
	local debarch suite pkg ver sha filename deb
	while read -r _ _ debarch suite pkg ver sha filename; do
		deb=$(fetch_deb "$suite" "$pkg" "$debarch" "$ver" "$sha" "$filename")
		vm_log "$id: unpacking $(basename "$deb")"
		# Same as `dpkg -x`, minus the module trees (hundreds of MB nobody boots).
		dpkg-deb --fsys-tarfile "$deb" |
			tar -x -C "$tmp" --exclude='*/kernel/*' --exclude='./usr/share/*'
	done <<<"$lines"
	local img cfg
	img=$(find "$tmp" -type f \( -path '*/boot/vmlinuz-*' -o -path '*/modules/*/vmlinuz' \) | head -n1)
	cfg=$(find "$tmp" -type f \( -path '*/boot/config-*' -o -path '*/modules/*/config' \) | head -n1)
	[ -n "$img" ] || vm_die "$id: no kernel image (boot/vmlinuz-* or modules/*/vmlinuz) in the .deb(s)"
	verify_kernel "$arch" "$img" || vm_die "$id: $img is not a bootable $arch kernel image"
	rm -rf "$kdir"
	mkdir -p "$kdir"
	mv "$img" "$kdir/kernel"
	if [ -n "$cfg" ]; then mv "$cfg" "$kdir/config"; else vm_log "$id: warning: no config in the .deb(s)"; fi
	case "$img" in
	*/boot/vmlinuz-*) basename "$img" | sed 's/^vmlinuz-//' >"$kdir/release" ;;
	*) basename "$(dirname "$img")" >"$kdir/release" ;;
	esac
	echo "$lines" >"$kdir/pin"
	rm -rf "$tmp"
	vm_log "$id: $(cat "$kdir/release") -> $kdir/kernel ($(du -h "$kdir/kernel" | cut -f1))"
}

mkdir -p "$VM_CACHE"
for id in "$@"; do fetch_one "$id"; done
