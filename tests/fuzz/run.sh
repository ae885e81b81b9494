#!/bin/bash
# Runs libFuzzer targets one after the other and prints a summary.
#
# usage: tests/fuzz/run.sh SECONDS [TARGET...]
#   SECONDS 0 replays the seeds and saved crashes once, without fuzzing.
# environment: FUZZ_B (build/fuzz), FUZZ_JOBS (1), FUZZ_FLAGS (extra
#   libFuzzer flags).
#
# Each target starts from tests/fuzz/corpus/<target> (the committed
# seeds) and tests/fuzz/regress/<target> (inputs that once crashed), and
# keeps what it finds in $FUZZ_B/corpus/<target>, so that later runs go
# on from there. A crash is written to tests/fuzz/artifacts/ and fails
# the run. The summary (executions, exec/s, cov, ft per target) goes to
# $FUZZ_B/summary.txt; docs/hardening.md records runs of it.
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
seconds=${1:?usage: run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(server_options server_requests client_replies config uri parse)
fb=${FUZZ_B:-build/fuzz}
art=tests/fuzz/artifacts
mkdir -p "$art" "$fb/logs"

# Inputs a target needs room for: a few options or requests with payload
# for the protocol targets, a page of text for the parsers.
max_len() {
	case $1 in
	server_*|client_*) echo 65536 ;;
	config) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

summary=$fb/summary.txt
printf '%-16s %8s %12s %9s %7s %7s %6s %s\n' target seconds executions exec/s cov ft corpus result >"$summary"
failed=0
for t in "${targets[@]}"; do
	bin=$fb/fuzz_$t
	[ -x "$bin" ] || { echo "run.sh: no $bin (make fuzz-build)" >&2; exit 2; }
	work=$fb/corpus/$t
	mkdir -p "$work" "tests/fuzz/regress/$t"
	log=$fb/logs/$t.log
	# -close_fd_mask=2: the server's log lines would drown libFuzzer's;
	# libFuzzer keeps its own output and the sanitizers' reports.
	args=(-timeout=20 -rss_limit_mb=3072 -max_len="$(max_len "$t")"
	      -close_fd_mask=2 -print_final_stats=1
	      -artifact_prefix="$art/$t-" ${FUZZ_FLAGS:-})
	if [ "$seconds" -eq 0 ]; then
		args+=(-runs=0)
	else
		args+=(-max_total_time="$seconds")
	fi
	echo "== $t: ${seconds}s"
	"$bin" "${args[@]}" "$work" "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|pulse|NEW|REDUCE)' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	if [ $rc -eq 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc; $log)"
		failed=1
		grep -E 'ERROR: |SUMMARY: |Test unit written' "$log" | head -5
	fi
	printf '%-16s %8s %12s %9s %7s %7s %6s %s\n' "$t" "$seconds" "${execs:-?}" \
		"${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result" >>"$summary"
done
cat "$summary"
exit $failed
