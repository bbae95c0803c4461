#!/usr/bin/env bash
# Two (or more) builds of pipit against the floor on the same machine, their
# runs interleaved: floor, A, B, floor, A, B… A virtual machine's speed moves
# by tens of percent over minutes, which shifts tables made one command after
# another (bench/engine-speed.sh); interleaved, every command meets the same
# moments. The workloads are bench/engine-speed.sh's, on tmpfs, or under
# $AB_DIR when given (an ext4 mount, say).
#
#   bench/engine-ab.sh PIPIT_A PIPIT_B…      (RUNS=12 each)
#
# Timed: the chain's first `repro`, its `repro` after a param change (26
# stages run), and the fan-out's first `repro -j 1` and `-j 2`. Each line:
# median and fastest of the runs, and the median over the floor's median.
# Results go to bench/results/engine-ab-<date>.md (-2, -3… later that day).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 1 ] || { echo "usage: bench/engine-ab.sh PIPIT_A [PIPIT_B…]" >&2; exit 2; }
STAGES="${STAGES:-50}"
FILES="${FILES:-100}"
RUNS="${RUNS:-12}"
MIDDLE=$((STAGES / 2))
. "$ROOT/bench/engine-workloads.sh"
make_workloads pipit-engine-ab
OUT="$(results_file engine-ab)"
{
    echo "# Builds of pipit against the floor, runs interleaved ($(date +%F))"
    echo
    machine
    echo "Command: bench/engine-ab.sh $* ($STAGES stages, $FILES files of 10 KiB each, $RUNS runs each)"
    echo
    for pipit in "$@"; do echo "- \`$pipit\`: $("$pipit" --version)"; done
} > "$OUT"
python3 - "$BASE" "$RUNS" "$@" >> "$OUT" <<'PY'
import statistics, subprocess, sys, time
base, runs, builds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000

def clean(folder):
    subprocess.run(f"rm -rf {folder}/.cache {folder}/pipeline.lock {folder}/s[0-9]* "
                   f"{folder}/gen {folder}/f[0-9]* && sync", shell=True, check=True)

bumps = iter(range(1_000_000, 2_000_000))
def bump(folder):
    with open(f"{folder}/params.yaml", "w") as params:
        params.write(f"p: {next(bumps)}\n")

def workload(title, folder, floor, args, prepare):
    times = {name: [] for name in ["sh"] + builds}
    for _ in range(runs):
        for name in times:
            prepare(folder)
            command = ["sh", floor] if name == "sh" else [name, "repro", "-q"] + args
            times[name].append(timed(command, folder))
    floor_median = statistics.median(times["sh"])
    print(f"\n## {title}\n")
    print("| | median [ms] | fastest [ms] | median / floor's |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        shown = "`sh` (the floor)" if name == "sh" else f"`{name}`"
        print(f"| {shown} | {median:.1f} | {min(values):.1f} | {median / floor_median:.2f} |")

chain, fanout = f"{base}/chain", f"{base}/fanout"
workload("chain, first repro", chain, "floor.sh", [], clean)
clean(chain)
subprocess.run([builds[0], "repro", "-q"], cwd=chain, stdout=subprocess.DEVNULL, check=True)
workload(f"chain, repro after a param change", chain, "floor-param.sh", [], bump)
workload("fan-out, first repro -j 1", fanout, "floor.sh", ["-j", "1"], clean)
workload("fan-out, first repro -j 2", fanout, "floor.sh", ["-j", "2"], clean)
PY
rm -rf "$BASE"
cat "$OUT"
