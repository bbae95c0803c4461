#!/usr/bin/env bash
# What verifying objects costs: times the operations that read or place cached
# objects, so that a pipit that hashes every object it places can be compared
# with one that trusted the stat cache.
#
#   bench/integrity-cost.sh [PIPIT_BINARY] [LABEL]
#
# Without a binary, builds pipit in release mode and uses it. Projects go under
# $BENCH_DIR (default /tmp/pipit-integrity-bench, on the same disk as the
# repository here). Runs hyperfine on:
#   noop        `repro` of 200 + 1 up-to-date stages
#   status      `status` of the same
#   checkout-1g `checkout` of one 1 GiB out (deleted before each run)
#   checkout-10k `checkout` of a directory out of 10,000 files of 1 KiB
#   repro-1g    `repro` that restores the 1 GiB out from the run cache
# Results go to bench/results/integrity-cost-<date>-<label>.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/pipit-integrity-bench}"
LABEL="${2:-current}"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
if [ -n "${1:-}" ]; then
    PIPIT="$(realpath "$1")"
else
    (cd "$ROOT" && cargo build --release -q)
    PIPIT="${CARGO_TARGET_DIR:-$ROOT/target}/release/pipit"
fi
mkdir -p "$BENCH_DIR"

. "$ROOT/bench/many-stages.sh"
many_stages() {
    STAGES=200 make_project "$1" pipeline.yaml
    "$PIPIT" repro -q >/dev/null
}

big_outs() {
    rm -rf "$1" && mkdir -p "$1" && cd "$1" && git init -q
    cat > pipeline.yaml <<'EOF'
stages:
  big:
    cmd: head -c 1073741824 /dev/urandom > big.bin
    outs:
      - big.bin
  many:
    cmd: mkdir -p many && for i in $(seq 1 10000); do head -c 1024 /dev/urandom > many/$i.bin; done
    outs:
      - many
EOF
    "$PIPIT" repro -q >/dev/null
}

many_stages "$BENCH_DIR/stages"
big_outs "$BENCH_DIR/big"
B="$BENCH_DIR/big"
RESULTS="$ROOT/bench/results/integrity-cost-$(date +%F)-$LABEL.md"
mkdir -p "$(dirname "$RESULTS")"
{
    echo "# Cost of verifying cached objects: $LABEL ($(date +%F))"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr),"
    echo "$(df -T "$BENCH_DIR" | awk 'NR==2 {print $2}') file system; pipit $("$PIPIT" --version | cut -d' ' -f2)."
    echo "Command: bench/integrity-cost.sh $* (files in the page cache: warm runs)"
} > "$RESULTS"
run() { # name, prepare, command, runs
    hyperfine -N --warmup 1 --runs "$4" --export-markdown "$BENCH_DIR/$1.md" \
        --prepare "$2" -n "$1" "$3"
    { echo; echo "## $1"; echo; cat "$BENCH_DIR/$1.md"; } >> "$RESULTS"
}
run noop true "bash -c 'cd $BENCH_DIR/stages && $PIPIT repro -q'" 10
run status true "bash -c 'cd $BENCH_DIR/stages && $PIPIT status'" 10
# Each prepare step syncs, so that one run's writeback does not slow the next.
run checkout-1g "bash -c 'rm -f $B/big.bin && sync'" "bash -c 'cd $B && $PIPIT checkout big'" 10
run checkout-10k "bash -c 'rm -rf $B/many && sync'" "bash -c 'cd $B && $PIPIT checkout many'" 10
# A run-cache restore: the lock forgets the stage, the out is gone.
run repro-1g "bash -c 'cd $B && rm -f big.bin pipeline.lock && sync'" \
    "bash -c 'cd $B && $PIPIT repro -q big'" 10
echo "results: $RESULTS"
