#!/usr/bin/env bash
# What comparing runs costs on the demo: the demo pipeline run at two commits
# (the second with gbm's n_trees changed), then hyperfine on
#   metrics-show   `metrics show` of the demo's 15 metrics files
#   metrics-diff   `metrics diff HEAD~1 HEAD` (both sides read through git)
#   params-diff    `params diff HEAD~1 HEAD`
#
#   bench/metrics-diff.sh
#
# Builds pipit in release mode; the demo goes under $BENCH_DIR (default
# /tmp/pipit-metrics-bench). Results go to bench/results/metrics-diff-<date>.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/pipit-metrics-bench}"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
(cd "$ROOT" && cargo build --release -q)
PIPIT="${CARGO_TARGET_DIR:-$ROOT/target}/release/pipit"
rm -rf "$BENCH_DIR" && mkdir -p "$BENCH_DIR" && cd "$BENCH_DIR"
git init -q
cp "$ROOT/pipeline.yaml" "$ROOT/params.yaml" .
git() { command git -c user.name=bench -c user.email=bench@example.invalid "$@"; }
"$PIPIT" repro -q >/dev/null
git add -A && git commit -qm first
sed -i 's/gbm: {n_trees: 200/gbm: {n_trees: 150/' params.yaml
"$PIPIT" repro -q >/dev/null
git add -A && git commit -qm second
OUT="$ROOT/bench/results/metrics-diff-$(date +%Y-%m-%d).md"
hyperfine -N --warmup 3 --runs 30 --export-markdown "$OUT" \
    -n metrics-show "$PIPIT metrics show" \
    -n metrics-diff "$PIPIT metrics diff HEAD~1 HEAD" \
    -n params-diff "$PIPIT params diff HEAD~1 HEAD"
cat "$OUT"
