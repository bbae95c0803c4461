#!/usr/bin/env bash
# What `repro --executor slurm` costs per stage: 100 trivial stages (one
# `cp` each) and a stage joining them, `-j 8`, on a one-node SLURM cluster
# (Debian's slurm-wlm, started from .ci/slurm/, needs root), against the same
# pipeline run by the local executor and against the floor: the same
# commands submitted with bare `sbatch`, at most 8 in the queue at a time, then
# waited for (`squeue` every 0.1 s); and all at once.
#
#   bench/slurm-overhead.sh            (STAGES=100 JOBS=8 RUNS=3)
#
# Results go to bench/results/slurm-overhead-<date>.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STAGES="${STAGES:-100}"
JOBS="${JOBS:-8}"
RUNS="${RUNS:-3}"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
command -v slurmctld >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm >/dev/null; }
CLUSTER=/tmp/pipit-bench-slurm
"$ROOT/.ci/slurm/start-slurm.sh" "$CLUSTER" >/dev/null
trap '"$ROOT/.ci/slurm/stop-slurm.sh" "$CLUSTER" >/dev/null' EXIT
export SLURM_CONF="$CLUSTER/slurm.conf"
if [ -z "${PIPIT:-}" ]; then
    (cd "$ROOT" && cargo build --release -q)
    PIPIT="${CARGO_TARGET_DIR:-$ROOT/target}/release/pipit"
fi
. "$ROOT/bench/many-stages.sh"
PROJECT=/tmp/pipit-bench-slurm-project
make_project "$PROJECT" pipeline.yaml
git add -A && git commit -qm stages
# The floors: each stage's command as a job of its own, all submitted at
# once, or at most $JOBS in the queue at a time (as pipit keeps them); then
# the join once they are done.
cat > floor-j.sh <<EOF
for i in \$(seq 1 $STAGES); do
    while [ "\$(squeue -h --me | wc -l)" -ge $JOBS ]; do sleep 0.1; done
    sbatch --parsable -o /dev/null --wrap "mkdir -p out && cp data/in\$i.csv out/\$i.csv" >/dev/null
done
while [ -n "\$(squeue -h --me)" ]; do sleep 0.1; done
cat out/*.csv > all.csv
EOF
{
    echo 'ids=""'
    for i in $(seq 1 "$STAGES"); do
        echo "ids=\"\$ids,\$(sbatch --parsable -o /dev/null --wrap 'mkdir -p out && cp data/in$i.csv out/$i.csv')\""
    done
    echo 'while [ -n "$(squeue -h -j "${ids#,}" 2>/dev/null)" ]; do sleep 0.1; done'
    echo 'cat out/*.csv > all.csv'
} > floor.sh
clean="sh -c 'rm -rf $PROJECT/.cache $PROJECT/pipeline.lock $PROJECT/out $PROJECT/all.csv'"
OUT="$ROOT/bench/results/slurm-overhead-$(date +%F).md"
{
    echo "# pipit's SLURM executor against the local one and bare sbatch ($(date +%F))"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr);"
    echo "pipit $("$PIPIT" --version | cut -d' ' -f2), $(sinfo --version)."
    echo "Cluster: one node, .ci/slurm/slurm.conf.in (sched/builtin, sched_interval=1,"
    echo "$(sinfo -h -o '%c') CPUs offered); $STAGES stages of one \`cp\` and a join, -j $JOBS, $RUNS runs."
    echo
} > "$OUT"
cd "$PROJECT"
hyperfine -N --runs "$RUNS" --export-markdown /tmp/slurm-overhead.md \
    --prepare "$clean" -n "pipit repro -j $JOBS (local)" "$PIPIT repro -q -j $JOBS" \
    --prepare "$clean" -n "pipit repro --executor slurm -j $JOBS" \
    "$PIPIT repro -q --executor slurm -j $JOBS" \
    --prepare "$clean" -n "sbatch, $JOBS at a time (floor)" "sh floor-j.sh" \
    --prepare "$clean" -n "sbatch, all at once" "sh floor.sh"
cat /tmp/slurm-overhead.md >> "$OUT"
cat "$OUT"
