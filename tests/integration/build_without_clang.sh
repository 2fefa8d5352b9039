#!/usr/bin/env bash
# The unit tests' library (src/lib, src/model, src/output) must build without
# clang and bpftool: only src/record/ sees the BPF skeleton. Builds one unit
# test in a fresh OUT with a PATH from which clang*, llvm* and bpftool are
# hidden (a directory of symlinks to everything else in /usr/bin and
# /usr/sbin), runs it, and checks that the hiding works: a record/ object,
# which needs the skeleton, must fail to build there. No root needed.
. "$(dirname "$0")/../lib.sh"
T=build_without_clang
bin=$TMP/bin
mkdir -p "$bin"
for d in /usr/local/bin /usr/bin /usr/sbin; do
	for f in "$d"/*; do
		n=${f##*/}
		case $n in clang*|llvm*|bpftool*) continue;; esac
		[ -e "$bin/$n" ] || ln -s "$f" "$bin/$n"
	done
done
hidden() { PATH=$bin "$@"; }
if hidden sh -c 'command -v clang || command -v bpftool' >/dev/null; then
	fail "$T: clang or bpftool still on the hidden PATH"; exit 0
fi
out=$TMP/out
t0=$SECONDS
if hidden make -s -C "$TOP" OUT="$out" "$out/tests/test_hist" >"$TMP/make.log" 2>&1; then
	pass "$T: tests/test_hist built without clang/bpftool ($((SECONDS - t0)) s)"
	check "$T: the test built that way passes" sh -c "\"$out/tests/test_hist\" >/dev/null"
else
	fail "$T: building tests/test_hist needed more than gcc: $(grep -m1 -iE 'error|not found' "$TMP/make.log")"
fi
# The hiding works: a skeleton user cannot build on that PATH.
if hidden make -s -C "$TOP" OUT="$out" "$out/src/record/collect.o" >"$TMP/make2.log" 2>&1; then
	fail "$T: src/record/collect.o built without clang: the PATH hides nothing"
else
	pass "$T: a skeleton user (record/collect.o) fails there, as it must"
fi
