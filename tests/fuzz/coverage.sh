#!/bin/bash
# Line coverage of the fuzz corpus: runs each coverage-built target once
# over its corpus (the grown one, the seeds, the saved crashes), merges
# the profiles and prints llvm-cov's per-file report of lib/ and server/.
#
# usage: tests/fuzz/coverage.sh COVBUILD FUZZBUILD [TARGET...]
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
cov=$1
fb=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(server_options server_requests client_replies config uri parse)
prof=$cov/profiles
rm -rf "$prof"
mkdir -p "$prof"
objects=()
for t in "${targets[@]}"; do
	mkdir -p "$fb/corpus/$t" "tests/fuzz/regress/$t"
	LLVM_PROFILE_FILE="$prof/$t.profraw" "$cov/fuzz_$t" -runs=0 -close_fd_mask=2 \
		"$fb/corpus/$t" "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t" \
		>"$prof/$t.log" 2>&1
	objects+=(-object "$cov/fuzz_$t")
done
llvm-profdata merge -sparse "$prof"/*.profraw -o "$prof/all.profdata"
# The first object is positional, the rest are -object.
llvm-cov report -instr-profile="$prof/all.profdata" "${objects[@]:1}" \
	"$src/lib" "$src/server" | tee "$cov/report.txt"
