#!/usr/bin/env bash
# Runs libFuzzer targets built by tests/fuzz/fuzz.mk, one after the other, each for
# FUZZ_SECONDS on a scratch copy of tests/fuzz/corpus/TARGET (the committed corpus and
# tests/fuzz/regressions/TARGET are read, never written). Prints one line per target and
# exits 1 if any crashed, leaked, timed out or broke a property.
#   FUZZ_SECONDS=60 FUZZ_BUILD=build-fuzz tests/fuzz/run.sh TARGET... [-libfuzzer_flag=...]
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
targets=()
flags=()
for arg in "$@"; do
  case "$arg" in
    -*) flags+=("$arg") ;;
    *) targets+=("$arg") ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || { echo "usage: $0 TARGET... [-flag=value...]" >&2; exit 2; }

failed=()
for target in "${targets[@]}"; do
  binary=$build/fuzz_$target
  scratch=$build/corpus/$target
  artifacts=$build/artifacts/$target
  log=$build/logs/$target.log
  [[ -x "$binary" ]] || { echo "fuzz $target: $binary not built" >&2; failed+=("$target"); continue; }
  rm -rf "$scratch" "$artifacts"
  mkdir -p "$scratch" "$artifacts" "$(dirname "$log")"
  cp tests/fuzz/corpus/"$target"/* "$scratch"/
  dict=()
  [[ -f tests/fuzz/$target.dict ]] && dict=("-dict=tests/fuzz/$target.dict")
  dirs=("$scratch")
  [[ -d tests/fuzz/regressions/$target ]] && dirs+=("tests/fuzz/regressions/$target")

  echo "== fuzz $target: ${seconds}s, log $log"
  # -timeout: an input that takes 10 s is a slow-input bug, not bad luck.
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${dict[@]+"${dict[@]}"} ${flags[@]+"${flags[@]}"} "${dirs[@]}" >"$log" 2>&1
  status=$?

  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log" | tail -n 1)
  runs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p' \
        <<<"$done_line")
  found=$(find "$artifacts" -type f | head -n 5 | tr '\n' ' ')
  if [[ $status -eq 0 && -z "$found" ]]; then
    echo "fuzz $target: ok, ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-no coverage line}"
  else
    echo "fuzz $target: FAILED (exit $status) ${found:+inputs: $found}"
    grep -E 'ERROR: |SUMMARY: |property broken|runtime error' "$log" | head -n 5 | sed 's/^/  /'
    failed+=("$target")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a failure"
