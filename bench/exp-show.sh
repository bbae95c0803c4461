#!/usr/bin/env bash
# What reading the runs history costs: `pipit exp show` over 10,000 runs, in
# two shapes of record:
#   demo      the record the demo pipeline's `repro` appends (its 19 metrics
#             files' numbers two levels deep, ~190 metrics and ~60 params, and
#             its 34 stages' outcomes), copied 10,000 times with varied values
#   typical   an MLflow-sized run: 10 params and 10 metrics
# each timed as the table (COLUMNS=160) and sorted by a metric.
#
#   bench/exp-show.sh
#
# Builds pipit in release mode; the demo runs under $BENCH_DIR (default
# /tmp/pipit-exp-bench). Results go to bench/results/exp-show-<date>.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/pipit-exp-bench}"
RUNS="${RUNS:-10000}"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
(cd "$ROOT" && cargo build --release -q)
PIPIT="${CARGO_TARGET_DIR:-$ROOT/target}/release/pipit"
rm -rf "$BENCH_DIR" && mkdir -p "$BENCH_DIR/demo" "$BENCH_DIR/typical"
cd "$BENCH_DIR/demo"
git init -q
cp "$ROOT/pipeline.yaml" "$ROOT/params.yaml" .
"$PIPIT" repro -q >/dev/null
python3 - "$RUNS" <<'PY'
import json, random, sys
runs = int(sys.argv[1])
log = ".cache/history/log.jsonl"
lines = [json.loads(l) for l in open(log)]
record = next(l for l in lines if l.get("kind") == "repro")
schema = next(l for l in lines if l.get("schema") == record["schema"] and "id" not in l)
random.seed(1)
with open(log, "w") as out:
    out.write(json.dumps(schema, separators=(",", ":")) + "\n")
    for i in range(runs):
        one = dict(record, id=f"{i:016x}", seconds=random.uniform(10, 100))
        one["metrics"] = [v * random.uniform(0.9, 1.1) if isinstance(v, float) else v
                          for v in record["metrics"]]
        out.write(json.dumps(one, separators=(",", ":")) + "\n")
print(f"demo: {runs} records of {len(schema['metrics'])} metrics and {len(schema['params'])} params")
PY
cd "$BENCH_DIR/typical"
git init -q
printf 'stages: {}\n' > pipeline.yaml
mkdir -p .cache/history
python3 - "$RUNS" <<'PY'
import json, random, sys
runs = int(sys.argv[1])
random.seed(2)
params = [f"train.p{j}" for j in range(10)]
metrics = [f"metrics.json:m{j}" for j in range(10)]
with open(".cache/history/log.jsonl", "w") as out:
    out.write(json.dumps({"schema": "typical", "params": params, "metrics": metrics}) + "\n")
    for i in range(runs):
        record = {
            "id": f"{i:016x}", "kind": "repro", "time": "2026-12-03T10:00:00Z",
            "seconds": random.uniform(1, 60), "rev": "%040x" % random.getrandbits(160),
            "dirty": False, "outcome": "success", "schema": "typical",
            "params": [random.choice([0.01, 0.1, 1, 10]) for _ in params],
            "metrics": [random.random() for _ in metrics],
        }
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
PY
ls -l "$BENCH_DIR"/*/.cache/history/log.jsonl
OUT="$ROOT/bench/results/exp-show-$(date +%Y-%m-%d).md"
export COLUMNS=160
hyperfine --warmup 2 --runs 15 --export-markdown "$OUT" \
    -n "demo: exp show" "cd $BENCH_DIR/demo && $PIPIT exp show" \
    -n "demo: exp show --sort-by churn-gbm.json:f1" "cd $BENCH_DIR/demo && $PIPIT exp show --sort-by churn-gbm.json:f1" \
    -n "typical: exp show" "cd $BENCH_DIR/typical && $PIPIT exp show" \
    -n "typical: exp show --sort-by m3" "cd $BENCH_DIR/typical && $PIPIT exp show --sort-by m3"
cat "$OUT"
