#!/usr/bin/env bash
# Load test of `pipit serve` against FastAPI + scikit-learn under uvicorn
# (bench/serve/fastapi_app.py), on loopback, single-record `POST /predict`
# of the demo's churn gradient boosting and housing random forest:
#   - at a fixed rate of 5,000 requests/s (hey: 10 connections x 500/s, and
#     50 x 100/s), p50/p99; and `GET /health` of pipit the same way, which
#     predicts nothing: the floor the load generator and the machine set;
#   - at saturation (wrk: 2 threads, 64 connections), throughput and p50/p99.
#
#   bench/serve-vs-fastapi.sh [SECONDS]     (each run; default 10)
#
# The server runs on CPU 0 and the load generator on CPU 1 (taskset), so
# that the generator's own work does not land in the server's latency; both
# servers get the same single core.
#
# Installs hey and wrk (Debian) and FastAPI, uvicorn, scikit-learn and pandas
# (PyPI, in $BENCH_DIR/venv), builds pipit in release mode, runs the demo
# pipeline for its models. Results: bench/results/serve-vs-fastapi-<date>.md.
set -euo pipefail
SECONDS_EACH="${1:-10}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="${BENCH_DIR:-/tmp/pipit-serve-bench}"
mkdir -p "$B"
command -v hey >/dev/null && command -v wrk >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq hey wrk >/dev/null; }
if [ ! -x "$B/venv/bin/uvicorn" ]; then
    python3 -m venv "$B/venv"
    "$B/venv/bin/pip" install -q fastapi 'uvicorn[standard]' scikit-learn pandas
fi
(cd "$ROOT" && cargo build --release -q)
PIPIT="${CARGO_TARGET_DIR:-$ROOT/target}/release/pipit"

# The demo's models, registered in a registry of the bench's own.
(cd "$ROOT" && "$PIPIT" repro -q >/dev/null)
rm -rf "$B/registry" "$B/logs"
for model in churn-gbm housing-forest; do
    dataset="${model%-*}" kind="${model#*-}"
    "$PIPIT" model register --registry "$B/registry" --dataset "$dataset" \
        --model "$ROOT/models/$dataset/$kind.model" --metrics "$ROOT/metrics/train/$model.json" >/dev/null
done

# One record of each test set, as JSON.
python3 - "$ROOT/data" "$B" <<'PY'
import csv, json, sys
data, out = sys.argv[1], sys.argv[2]
for dataset, target in [("churn", "Churn"), ("housing", "MedHouseVal")]:
    with open(f"{data}/{dataset}/prepared/test.csv") as f:
        row = next(csv.DictReader(f))
    del row[target]
    record = {}
    for key, value in row.items():
        try:
            record[key] = float(value)
        except ValueError:
            record[key] = value if value else None
    if dataset == "churn":
        record["SeniorCitizen"] = int(record["SeniorCitizen"])
    with open(f"{out}/{dataset}.json", "w") as f:
        json.dump(record, f)
PY

PIPIT_PORT=5401 FASTAPI_PORT=5402
SERVER_CPU=(taskset -c 0) LOAD_CPU=(taskset -c 1)
"${SERVER_CPU[@]}" "$PIPIT" serve --registry "$B/registry" --log "$B/logs/predictions.jsonl" \
    --addr "127.0.0.1:$PIPIT_PORT" >"$B/pipit.log" 2>&1 &
PIPIT_PID=$!
(cd "$ROOT/bench/serve" && PIPIT_DATA="$ROOT/data" exec "${SERVER_CPU[@]}" "$B/venv/bin/uvicorn" fastapi_app:app \
    --host 127.0.0.1 --port "$FASTAPI_PORT" --workers 2 --log-level warning) >"$B/fastapi.log" 2>&1 &
FASTAPI_PID=$!
trap 'kill "$PIPIT_PID" "$FASTAPI_PID" 2>/dev/null || true' EXIT
for port in "$PIPIT_PORT" "$FASTAPI_PORT"; do
    for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
done
# Both must answer the record, the same way.
for dataset in churn housing; do
    for port in "$PIPIT_PORT" "$FASTAPI_PORT"; do
        curl -sf -H 'Content-Type: application/json' --data @"$B/$dataset.json" \
            "http://127.0.0.1:$port/predict/$dataset" >/dev/null ||
            { echo "the server on $port does not answer $dataset"; exit 1; }
    done
done

# hey's and wrk's summaries as "rps p50_ms p99_ms errors".
fixed_rate() { # connections url [body]
    local body=(); [ -n "${3:-}" ] && body=(-m POST -T application/json -D "$3")
    "${LOAD_CPU[@]}" hey -z "${SECONDS_EACH}s" -c "$1" -q $((5000 / $1)) "${body[@]}" "$2" |
        awk '/Requests\/sec/ {rps=$2} / 50% in/ {p50=$3*1000} / 99% in/ {p99=$3*1000}
             /^\s*\[[0-9]+\]/ {code=$1; gsub(/[\[\]]/, "", code); if (code != "200") err += $2}
             /Error distribution/ {errors=1} errors && /\[[0-9]+\]/ && !/responses/ {err += $1}
             END {printf "%.0f %.2f %.2f %d\n", rps, p50, p99, err}'
}
saturation() { # url body
    WRK_BODY="$2" "${LOAD_CPU[@]}" wrk -t1 -c64 -d"${SECONDS_EACH}s" --latency -s "$ROOT/bench/serve/post.lua" "$1" |
        awk 'function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
             /Requests\/sec/ {rps=$2} /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)}
             /Non-2xx/ {err+=$NF} /Socket errors/ {err+=1}
             END {printf "%.0f %.2f %.2f %d\n", rps, p50, p99, err}'
}

RESULTS="$ROOT/bench/results/serve-vs-fastapi-$(date +%F).md"
{
    echo "# pipit serve vs FastAPI + scikit-learn ($(date +%F))"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr). Each server on"
    echo "CPU 0, the load generator (hey, wrk) on CPU 1. pipit $("$PIPIT" --version | cut -d' ' -f2) (one process,"
    echo "tokio's default threads); FastAPI $("$B/venv/bin/python" -c 'import fastapi; print(fastapi.__version__)'),"
    echo "scikit-learn $("$B/venv/bin/python" -c 'import sklearn; print(sklearn.__version__)'), uvicorn with 2 workers."
    echo "Command: bench/serve-vs-fastapi.sh $SECONDS_EACH (each run ${SECONDS_EACH} s, one record per request)."
    echo
    echo "| model | server | 5,000/s over 10 conn.: p50 ms | p99 ms | over 50 conn.: p50 ms | p99 ms | errors | saturation (64 conn.): req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$RESULTS"
for dataset in health churn housing; do
    name="churn gbm"; [ "$dataset" = housing ] && name="housing forest"
    for server in pipit fastapi; do
        port="$PIPIT_PORT"; [ "$server" = fastapi ] && port="$FASTAPI_PORT"
        url="http://127.0.0.1:$port/predict/$dataset" body="$B/$dataset.json"
        if [ "$dataset" = health ]; then
            [ "$server" = pipit ] || continue
            name="(no model: GET /health)" url="http://127.0.0.1:$port/health" body=""
        fi
        read -r _ ten_p50 ten_p99 ten_err <<<"$(fixed_rate 10 "$url" "$body")"
        read -r _ fifty_p50 fifty_p99 fifty_err <<<"$(fixed_rate 50 "$url" "$body")"
        if [ "$dataset" = health ]; then
            sat_rps="" sat_p50="" sat_p99="" sat_err=0
        else
            read -r sat_rps sat_p50 sat_p99 sat_err <<<"$(saturation "$url" "$body")"
        fi
        echo "| $name | $server | $ten_p50 | $ten_p99 | $fifty_p50 | $fifty_p99 | $((ten_err + fifty_err)) | $sat_rps | $sat_p50 | $sat_p99 | $sat_err |" >>"$RESULTS"
        echo "$name $server: 5000/s p99 $ten_p99 ms (10 conn.), $fifty_p99 ms (50 conn.); saturation $sat_rps/s p99 $sat_p99 ms"
    done
done
echo "results: $RESULTS"
