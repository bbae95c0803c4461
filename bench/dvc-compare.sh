#!/usr/bin/env bash
# Times pipit against DVC on the same generated pipeline: N independent stages,
# each copying a small input file, plus one stage that joins them all.
#
#   bench/dvc-compare.sh [STAGES]        (default 200)
#
# Creates a virtualenv with DVC from PyPI under $BENCH_DIR (default
# /tmp/pipit-bench), builds pipit in release mode, and runs hyperfine on:
#   noop    `repro` when everything is up to date
#   status  `status` when everything is up to date
#   full    `repro` of every stage from a clean state (no lock, no cache)
# Results go to bench/results/dvc-compare-<date>.md with the machine named.
set -euo pipefail
STAGES="${1:-200}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/pipit-bench}"
mkdir -p "$BENCH_DIR"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
if [ ! -x "$BENCH_DIR/venv/bin/dvc" ]; then
    python3 -m venv "$BENCH_DIR/venv"
    "$BENCH_DIR/venv/bin/pip" install -q dvc
fi
DVC="$BENCH_DIR/venv/bin/dvc"
(cd "$ROOT" && cargo build --release -q)
PIPIT="${CARGO_TARGET_DIR:-$ROOT/target}/release/pipit"

. "$(dirname "$0")/many-stages.sh"

make_project "$BENCH_DIR/dvc" dvc.yaml
"$DVC" init -q && "$DVC" config core.analytics false && "$DVC" repro -q >/dev/null
make_project "$BENCH_DIR/pipit" pipeline.yaml
"$PIPIT" repro -q >/dev/null

RESULTS="$ROOT/bench/results/dvc-compare-$(date +%F).md"
mkdir -p "$(dirname "$RESULTS")"
{
    echo "# pipit vs DVC, $STAGES + 1 stages ($(date +%F))"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr);"
    echo "pipit $("$PIPIT" --version | cut -d' ' -f2), DVC $("$DVC" --version)."
    echo "Command: bench/dvc-compare.sh $STAGES"
} > "$RESULTS"
for op in noop status full; do
    case $op in
        noop) pipit_cmd="$PIPIT repro -q"; dvc_cmd="$DVC repro -q"; prep_p=true; prep_d=true ;;
        status) pipit_cmd="$PIPIT status"; dvc_cmd="$DVC status -q"; prep_p=true; prep_d=true ;;
        full)
            pipit_cmd="$PIPIT repro -q"; dvc_cmd="$DVC repro -q"
            prep_p="rm -rf $BENCH_DIR/pipit/.cache $BENCH_DIR/pipit/pipeline.lock $BENCH_DIR/pipit/out $BENCH_DIR/pipit/all.csv"
            prep_d="rm -rf $BENCH_DIR/dvc/.dvc/cache $BENCH_DIR/dvc/.dvc/tmp $BENCH_DIR/dvc/dvc.lock $BENCH_DIR/dvc/out $BENCH_DIR/dvc/all.csv" ;;
    esac
    runs=10; [ "$op" = full ] && runs=3
    hyperfine -N -i --warmup 1 --runs "$runs" --export-markdown "$BENCH_DIR/$op.md" \
        --prepare "$prep_p" -n "pipit $op" "bash -c 'cd $BENCH_DIR/pipit && $pipit_cmd'" \
        --prepare "$prep_d" -n "dvc $op" "bash -c 'cd $BENCH_DIR/dvc && $dvc_cmd'"
    { echo; echo "## $op"; echo; cat "$BENCH_DIR/$op.md"; } >> "$RESULTS"
done
echo "results: $RESULTS"
