#!/usr/bin/env bash
# src/ is built in floors and data flows one way, kernel -> record -> model ->
# output: lib < model < output; record/ may use model/ and lib/; cmd/ and
# main.c use all. No file may include a header from a floor it may not use,
# and only record/ includes the BPF skeleton. No root needed.
. "$(dirname "$0")/../lib.sh"
T=layout
declare -A may=(
	[lib]="lib"
	[model]="lib model"
	[output]="lib model output"
	[record]="lib model record"
	[cmd]="lib model output record cmd"
	[.]="lib model output record cmd"
)
bad=0 n=0
for f in "$TOP"/src/*.[ch] "$TOP"/src/*/*.[ch]; do
	rel=${f#"$TOP"/src/}
	floor=${rel%/*}
	[ "$floor" = "$rel" ] && floor=.
	if [ -z "${may[$floor]:-}" ]; then
		fail "$T: src/$rel is in no known floor (lib model output record cmd)"; bad=1; continue
	fi
	while IFS= read -r inc; do
		n=$((n + 1))
		case $inc in
		*/*)	to=${inc%%/*}
			if [[ " ${may[$floor]} " != *" $to "* ]]; then
				fail "$T: src/$rel ($floor) includes $inc, a floor above it"; bad=1
			fi;;
		mmlock.skel.h)
			if [ "$floor" != record ]; then
				fail "$T: src/$rel includes the BPF skeleton (only record/ may)"; bad=1
			fi;;
		esac
	done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$f")
done
[ "$bad" = 0 ] && pass "$T: $n includes, none from a higher floor, the skeleton only in record/"
