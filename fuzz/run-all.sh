#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds, one after another, and prints
# a summary (executions, exec/s, crash or not). Extra arguments go to
# libFuzzer, e.g. `fuzz/run-all.sh 60 -jobs=1 -rss_limit_mb=4096`.
#
# New corpus entries go to fuzz/corpus/<target>; the hand-written seeds in
# fuzz/seeds/<target> are read too. Logs: fuzz/logs/<target>.log. Crashing
# inputs: fuzz/artifacts/<target>/.
set -uo pipefail

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [libFuzzer args...]" >&2
    exit 2
fi
seconds=$1
shift

cd "$(dirname "$0")"
mkdir -p logs
targets=$(cargo +nightly fuzz list) || exit 1

# Build everything first, so that build time is not fuzzing time.
cargo +nightly fuzz build || exit 1

summary=()
failed=0
for target in $targets; do
    echo "=== $target: ${seconds}s"
    mkdir -p "corpus/$target"
    corpora=("corpus/$target")
    [[ -d "seeds/$target" ]] && corpora+=("seeds/$target")
    cargo +nightly fuzz run "$target" "${corpora[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1 "$@" 2>&1 | tee "logs/$target.log"
    status=${PIPESTATUS[0]}
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$target.log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "logs/$target.log" | tail -1)
    if [[ $status -eq 0 ]]; then
        result=ok
    else
        result="CRASH (exit $status, see logs/$target.log)"
        failed=1
    fi
    summary+=("$(printf '%-22s %12s runs %9s exec/s  %s' "$target" "${runs:-?}" "${rate:-?}" "$result")")
done

echo
echo "=== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $failed
