#!/usr/bin/env bash
# make bench: the performance benchmarks, on the lab that `make demo` built and converged.
#
#   scripts/bench.sh                       every stage: tuning, scale, devices
#   BENCH_STAGES="scale devices" scripts/bench.sh    some of them
#   BENCH_REPEAT=3 scripts/bench.sh        more interleaved rounds per setup (default 1)
#   BENCH_SCALE_CONVERGED=1 scripts/bench.sh   the scale hosts are converged already: skip their converge run
#
# Each stage compares two setups measured in the same run; the summary with all of them, and the plot
# of time against host count, go to reports/bench/summary.md (and .json, .svg beside it). A stage not
# run this time keeps its section from its last run (each section carries its date).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/.venv/bin:$PATH" CONTAINERS_CONF="$PWD/lab/containers.conf" ANSIBLE_NOCOLOR=1

out=reports/bench
stages=${BENCH_STAGES:-tuning scale devices}
repeat=${BENCH_REPEAT:-1}
mkdir -p "$out"
for s in $stages; do
  case $s in
    tuning | scale | devices) ;;
    *) echo "bench: unknown stage $s (tuning, scale, devices)" >&2; exit 2 ;;
  esac
done

case " $stages " in *" tuning "* | *" scale "*)
  for host in log01 app01 fw01; do
    if [ "$(podman container inspect --format '{{.State.Status}}' "lab-$host" 2>/dev/null)" != running ]; then
      echo "bench: lab host $host is not running: run \`make demo\` first (the benchmarks need a converged lab)" >&2
      exit 2
    fi
  done ;;
esac

declare -A took failed
nfailed=0
stage() {
  local name=$1 t0 rc; shift
  t0=$(date +%s)
  rm -f "$out/$name.md"
  echo "bench: stage $name: $*"
  "$@"
  rc=$?
  took[$name]=$(( $(date +%s) - t0 ))
  echo "bench: stage $name finished rc=$rc in ${took[$name]}s"
  if [ $rc -ne 0 ]; then failed[$name]=$rc; nfailed=$((nfailed + 1)); fi
}

for s in $stages; do
  case $s in
    tuning) stage tuning python bench/ansible_tuning.py --repeat "$repeat" --json "$out/tuning.json" \
              --markdown "$out/tuning.md" ;;
    scale) stage scale python bench/scale.py --repeat "$repeat" ${BENCH_SCALE_CONVERGED:+--no-converge} --json "$out/scale.json" \
             --markdown "$out/scale.md" --svg "$out/scale.svg" ;;
    devices) stage devices python bench/devices_nochange.py --repeat "$repeat" \
               --json "$out/devices.json" --markdown "$out/devices.md" ;;
  esac
done

{
  echo "# belediye-iac benchmarks"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores."
  echo "Written by \`make bench\` (scripts/bench.sh); how each benchmark works: bench/README.md."
  echo
  echo "| stage | s |"
  echo "|---|---:|"
  for s in tuning scale devices; do echo "| $s | ${took[$s]:-not run now: its section, if any, is from an earlier run} |"; done
  echo
  for s in tuning scale devices; do
    if [ -f "$out/$s.md" ] && [ -z "${failed[$s]:-}" ]; then cat "$out/$s.md"; echo; fi
  done
} > "$out/summary.md"
echo "bench: summary in $out/summary.md"
if [ $nfailed -gt 0 ]; then
  echo "bench: FAILED stages: ${!failed[*]}" >&2
  exit 1
fi
