#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 60), growing a working corpus in .build-fuzz/corpus-<target>
# from the seeds in Fuzz/corpus/. A finding stops the run and is saved as .build-fuzz/findings/<target>-crash-*;
# turn it into a test before fixing it. Usage: Fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("${@:-RequestParser Authorization}")
mkdir -p .build-fuzz/findings
for target in ${targets[@]}; do
  seeds=Fuzz/corpus/$(echo "$target" | sed -e 's/RequestParser/request-parser/' -e 's/Authorization/authorization/')
  corpus=.build-fuzz/corpus-$target
  mkdir -p "$corpus"
  echo "fuzzing $target for $seconds s"
  SWIFT_BACKTRACE=enable=no ".build-fuzz/fuzz-$target" "$corpus" "$seeds" \
    -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=".build-fuzz/findings/$target-" 2>&1 | grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss|#[0-9]+ +DONE)|ERROR|Fatal|SUMMARY' || true
  if ls .build-fuzz/findings/"$target"-* >/dev/null 2>&1; then echo "FINDING in $target: see .build-fuzz/findings/"; exit 1; fi
done
