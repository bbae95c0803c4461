#!/usr/bin/env bash
# What the machine itself allows on engine-speed's goals: lower bounds that
# hold for any tool that runs the same commands, keeps one copy of every out
# file in a cache and hashes each file once, measured here with `sh`, `cp -r`
# and `b3sum` on the same workloads (tmpfs, or under $AB_DIR).
#
#   bench/engine-bounds.sh                (RUNS=12 each)
#
# Fan-out (`-j 1` against `-j N`, N the cores): the commands' CPU time (the
# floor's user + system, its processes included), `cp -r` of every out and
# the hashing (`b3sum`'s user time) must all fit on N cores, so `-j N` takes
# at least their sum / N; a `-j 1` run within 1.10× of the floor is then at
# most 1.10 × floor × N / sum times slower.
# Chain, after a param change: each of the 25 stages after the one reading
# the param waits for the out before it to be hashed (the hash says whether
# it runs, and which earlier run the run cache could restore): at least the
# CPU time of hashing one out (`b3sum`, one thread) / N a stage, on top of
# the floor.
# Results go to bench/results/engine-bounds-<date>.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STAGES="${STAGES:-50}"
FILES="${FILES:-100}"
RUNS="${RUNS:-12}"
MIDDLE=$((STAGES / 2))
command -v b3sum >/dev/null || { apt-get update -qq && apt-get install -y -qq b3sum; }
. "$ROOT/bench/engine-workloads.sh"
make_workloads pipit-engine-bounds
OUT="$(results_file engine-bounds)"
{
    echo "# What $(nproc) cores allow on the engine's goals ($(date +%F))"
    echo
    machine
    echo "Command: bench/engine-bounds.sh ($STAGES stages, $FILES files of 10 KiB each, $RUNS runs each; medians)"
} > "$OUT"
python3 - "$BASE" "$RUNS" "$MIDDLE" "$STAGES" >> "$OUT" <<'PY'
import glob, os, resource, statistics, subprocess, sys, time
base, runs, middle, stages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cores = os.cpu_count()

def cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime, usage.ru_stime

def measured(command, cwd, prepare=None):
    """Median wall, user and system seconds of `command` over the runs."""
    walls, users, systems = [], [], []
    for _ in range(runs):
        if prepare:
            prepare()
        (user, system), start = cpu(), time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
        wall, (user2, system2) = time.perf_counter() - start, cpu()
        walls.append(wall)
        users.append(user2 - user)
        systems.append(system2 - system)
    return statistics.median(walls), statistics.median(users), statistics.median(systems)

def sh(script, cwd):
    subprocess.run(["sh", "-c", script], cwd=cwd, check=True)

fanout, chain = f"{base}/fanout", f"{base}/chain"
def clean_fanout():
    sh("rm -rf gen f[0-9]* && sync", fanout)
floor_wall, floor_user, floor_system = measured(["sh", "floor.sh"], fanout, clean_fanout)
floor_cpu = floor_user + floor_system
sh("sh floor.sh", fanout)
outs = ["gen"] + [f"f{i}" for i in range(1, stages + 1)]
files = sorted(f for out in outs for f in glob.glob(f"{fanout}/{out}/*"))
copy = measured(["cp", "-r"] + outs + [f"{base}/copy"], fanout, lambda: sh(f"rm -rf {base}/copy && mkdir {base}/copy && sync", fanout))
hashing = measured(["b3sum", "--num-threads", "1"] + files, fanout)
copy_cpu, hash_cpu = copy[1] + copy[2], hashing[1]
least = floor_cpu + copy_cpu + hash_cpu
print(f"\n## Fan-out: `-j 1` against `-j {cores}`\n")
print("| | wall [ms] | user + system [ms] |")
print("|---|---:|---:|")
print(f"| the commands (`sh floor.sh`, the floor) | {floor_wall * 1000:.1f} | {floor_cpu * 1000:.1f} |")
print(f"| `cp -r` of their {len(files):,} out files | {copy[0] * 1000:.1f} | {copy_cpu * 1000:.1f} |")
print(f"| `b3sum` of them, one thread | {hashing[0] * 1000:.1f} | {(hashing[1] + hashing[2]) * 1000:.1f} (user {hash_cpu * 1000:.1f}) |")
print()
print(f"- CPU time of the commands, one copy and one hash of every out: {least * 1000:.1f} ms;")
print(f"  on {cores} cores `-j {cores}` takes at least {least / cores * 1000:.1f} ms.")
print(f"- `-j 1` within 1.10× of the floor: at most {1.10 * floor_wall * 1000:.1f} ms.")
print(f"- So `-j {cores}` is at most **{1.10 * floor_wall * cores / least:.2f}×** faster than such a `-j 1`.")

def bump():
    bump.n += 1
    with open(f"{chain}/params.yaml", "w") as params:
        params.write(f"p: {bump.n}\n")
bump.n = 1_000_000
sh("sh floor.sh", chain)
param_wall, _, _ = measured(["sh", "floor-param.sh"], chain, bump)
waited = [f"s{i}" for i in range(middle, stages)]
chain_files = sorted(f for out in waited for f in glob.glob(f"{chain}/{out}/*"))
chain_hash = measured(["b3sum", "--num-threads", "1"] + chain_files, chain)
per_stage = (chain_hash[1] + chain_hash[2]) / len(waited)
# The stages before the param's are checked first: a stat of each file.
checked = [f"s{i}" for i in range(0, middle)]
checked_files = sum(len(glob.glob(f"{chain}/{out}/*")) for out in checked)
stat = measured(["find"] + checked + ["-type", "f", "-size", "0"], chain)
stat_cpu = stat[1] + stat[2]
param_least = param_wall + (len(waited) * per_stage + stat_cpu) / cores
print(f"\n## Chain: `repro` after a param change ({stages - middle + 1} stages run)\n")
print("| | wall [ms] | user + system [ms] |")
print("|---|---:|---:|")
print(f"| the commands (`sh floor-param.sh`, the floor) | {param_wall * 1000:.1f} | |")
print(f"| `b3sum` of the {len(waited)} outs waited for ({len(chain_files):,} files), one thread | {chain_hash[0] * 1000:.1f} | {(chain_hash[1] + chain_hash[2]) * 1000:.1f} |")
print(f"| `find` reading the metadata of the {middle} stages' outs before ({checked_files:,} files) | {stat[0] * 1000:.1f} | {stat_cpu * 1000:.1f} |")
print()
print(f"- Hashing one out: {per_stage * 1000:.2f} ms of CPU, at best {per_stage / cores * 1000:.2f} ms on {cores} cores,")
print(f"  before each of {len(waited)} stages; with the stages before checked first: at least")
print(f"  {param_least * 1000:.1f} ms, **{param_least / param_wall:.3f}×** the floor, before the tool starts,")
print(f"  checks a stage, copies an out or writes its lock.")
PY
rm -rf "$BASE"
cat "$OUT"
