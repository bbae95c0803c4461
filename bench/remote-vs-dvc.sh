#!/usr/bin/env bash
# Times pipit against DVC moving data through the same local S3 server
# (moto's, from PyPI, on 127.0.0.1): `add`, `push` and `pull` of 10,000 files
# of 1 KiB and of one 1 GiB file, and `repro --pull` on a fresh clone where
# nothing changed (with the bytes each downloads).
#
#   bench/remote-vs-dvc.sh [RUNS]        (default 3; the 1 GiB file: 2)
#   OPS="pull-10k push-10k" bench/remote-vs-dvc.sh   (only these comparisons)
#   S3_SERVER=s3s-fs bench/remote-vs-dvc.sh         (a Rust S3 server instead of moto)
#   DVC_JOBS=128 bench/remote-vs-dvc.sh              (DVC with as many transfers as pipit)
#   S3_SERVER=ceph OPS="push-10k pull-10k" bench/remote-vs-dvc.sh
#       (Ceph's RADOS gateway from Debian's packages, bench/servers/start-ceph-rgw.sh;
#        its in-memory OSD holds 1 GiB, so only the small-file comparisons)
#
# Installs DVC with its S3 plugin and moto into $BENCH_DIR (default
# /tmp/pipit-remote-bench), builds pipit in release mode. Results go to
# bench/results/remote-vs-dvc-<date>.md with the machine named.
set -euo pipefail
RUNS="${1:-3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/pipit-remote-bench}"
mkdir -p "$BENCH_DIR"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
if [ ! -x "$BENCH_DIR/venv/bin/dvc" ]; then
    python3 -m venv "$BENCH_DIR/venv"
    "$BENCH_DIR/venv/bin/pip" install -q 'dvc[s3]'
fi
DVC="$BENCH_DIR/venv/bin/dvc"
# moto in a venv of its own (its boto3 pins would fight DVC's aiobotocore).
TOOLS="${PIPIT_TEST_TOOLS:-$HOME/.cache/pipit-test-tools}"
if [ ! -x "$TOOLS/moto/bin/moto_server" ]; then
    python3 -m venv "$TOOLS/moto"
    "$TOOLS/moto/bin/pip" install -q 'moto[s3]' flask flask-cors
fi
(cd "$ROOT" && cargo build --release -q)
PIPIT="${CARGO_TARGET_DIR:-$ROOT/target}/release/pipit"

PORT=5390
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
# S3_SERVER=s3s-fs: a Rust S3 server (crates.io), much faster than moto, so
# that small-file transfers measure the tools rather than the server.
S3_SERVER="${S3_SERVER:-moto}"
if [ "$S3_SERVER" = ceph ]; then
    command -v radosgw >/dev/null ||
        apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd >/dev/null
    PORT=7480
    export AWS_ACCESS_KEY_ID=PIPITACCESSKEY0000001 AWS_SECRET_ACCESS_KEY=pipitsecretkey0000000000000000000000000
    "$ROOT/bench/servers/start-ceph-rgw.sh" "$BENCH_DIR/ceph" >/dev/null 2>&1
    trap '"$ROOT/bench/servers/stop-ceph-rgw.sh" "$BENCH_DIR/ceph" >/dev/null' EXIT
elif [ "$S3_SERVER" = s3s-fs ]; then
    [ -x "$TOOLS/s3s/bin/s3s-fs" ] ||
        cargo install -q s3s-fs --version 0.14.1 --features binary --root "$TOOLS/s3s"
    rm -rf "$BENCH_DIR/s3s-data" && mkdir -p "$BENCH_DIR/s3s-data/bench"
    "$TOOLS/s3s/bin/s3s-fs" --host 127.0.0.1 --port "$PORT" --access-key bench \
        --secret-key bench "$BENCH_DIR/s3s-data" >"$BENCH_DIR/s3s.log" 2>&1 &
    SERVER=$!
    trap 'kill "$SERVER" 2>/dev/null || true' EXIT
    sleep 1
else
    "$TOOLS/moto/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$BENCH_DIR/moto.log" 2>&1 &
    SERVER=$!
    trap 'kill "$SERVER" 2>/dev/null || true' EXIT
fi
ENDPOINT="http://127.0.0.1:$PORT"
if [ "$S3_SERVER" != s3s-fs ]; then
    "$TOOLS/moto/bin/python" - "$ENDPOINT" <<'PY'
import sys, time, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
for _ in range(50):
    try:
        s3.create_bucket(Bucket="bench")
        break
    except Exception:
        time.sleep(0.2)
PY
fi

# The data, made once: 10,000 files of 1 KiB and one file of 1 GiB.
DATA="$BENCH_DIR/data"
if [ ! -f "$DATA/big.bin" ]; then
    mkdir -p "$DATA/small"
    python3 - "$DATA/small" <<'PY'
import os, sys
for i in range(10000):
    with open(os.path.join(sys.argv[1], f"{i:05}.bin"), "wb") as f:
        f.write(os.urandom(1024))
PY
    head -c 1073741824 /dev/urandom > "$DATA/big.bin"
fi

# One project per tool; each tracks `small` and `big.bin`, and a stage reads
# each (so that pipit's targets can name them).
project() { # $1 = tool, $2 = folder
    rm -rf "$2" && mkdir -p "$2" && cd "$2" && git init -q
    cp -r "$DATA/small" small && cp "$DATA/big.bin" big.bin
    local stage='stages:\n  count:\n    cmd: ls small | wc -l > count.txt\n    deps:\n      - small\n    outs:\n      - count.txt\n  size:\n    cmd: wc -c < big.bin > size.txt\n    deps:\n      - big.bin\n    outs:\n      - size.txt\n'
    if [ "$1" = dvc ]; then
        "$DVC" init -q && "$DVC" config core.analytics false
        "$DVC" remote add -d s3 "s3://bench/dvc-setup" >/dev/null
        "$DVC" remote modify s3 endpointurl "$ENDPOINT"
        printf "$stage" > dvc.yaml
    else
        printf "$stage" > pipeline.yaml
        "$PIPIT" remote add s3 "s3://bench/pipit-setup" --default >/dev/null
        "$PIPIT" remote modify s3 endpoint "$ENDPOINT" >/dev/null
        "$PIPIT" remote modify s3 allow_http true >/dev/null
        "$PIPIT" remote modify s3 path_style true >/dev/null
    fi
}
P="$BENCH_DIR/pipit" D="$BENCH_DIR/dvc"
project pipit "$P"
project dvc "$D"

OPS="${OPS:-add-10k add-1g push-10k push-1g pull-10k pull-1g repro-pull}"
SUFFIX=""; [ "$OPS" != "add-10k add-1g push-10k push-1g pull-10k pull-1g repro-pull" ] && SUFFIX="-${OPS// /-}"
[ "$S3_SERVER" = moto ] || SUFFIX="$SUFFIX-$S3_SERVER"
DVC_J=""; [ -n "${DVC_JOBS:-}" ] && DVC_J="-j $DVC_JOBS" && SUFFIX="$SUFFIX-dvc-j$DVC_JOBS"
RESULTS="$ROOT/bench/results/remote-vs-dvc-$(date +%F)$SUFFIX.md"
mkdir -p "$(dirname "$RESULTS")"
{
    echo "# pipit vs DVC through a local S3 server ($(date +%F))"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr);"
    echo "pipit $("$PIPIT" --version | cut -d' ' -f2), DVC $("$DVC" --version); S3 server: $S3_SERVER on 127.0.0.1."
    echo "Command: ${DVC_JOBS:+DVC_JOBS=$DVC_JOBS }S3_SERVER=$S3_SERVER OPS=\"$OPS\" bench/remote-vs-dvc.sh $RUNS"
} > "$RESULTS"

compare() { # name, runs, pipit prepare, pipit command, dvc prepare, dvc command
    [[ " $OPS " == *" $1 "* ]] || return 0
    hyperfine -N --runs "$2" --export-markdown "$BENCH_DIR/$1.md" \
        --prepare "bash -c '$3'" -n "pipit $1" "bash -c '$4'" \
        --prepare "bash -c '$5'" -n "dvc $1" "bash -c '$6'"
    { echo; echo "## $1"; echo; cat "$BENCH_DIR/$1.md"; } >> "$RESULTS"
}

# add: hash the data into the cache and write the record.
compare add-10k "$RUNS" \
    "cd $P && rm -rf .cache small.pipit" "cd $P && $PIPIT add small" \
    "cd $D && rm -rf .dvc/cache small.dvc" "cd $D && $DVC add -q small"
compare add-1g 2 \
    "cd $P && rm -f big.bin.pipit && rm -rf .cache/objects" "cd $P && $PIPIT add big.bin" \
    "cd $D && rm -f big.bin.dvc && rm -rf .dvc/cache" "cd $D && $DVC add -q big.bin"
(cd "$P" && "$PIPIT" add small big.bin >/dev/null && "$PIPIT" repro -q >/dev/null)
(cd "$D" && "$DVC" add -q small big.bin && "$DVC" repro -q >/dev/null)

# push: every run to a fresh prefix, so that everything crosses the wire.
compare push-10k "$RUNS" \
    "cd $P && $PIPIT remote modify s3 url s3://bench/pipit-\$RANDOM\$RANDOM >/dev/null" "cd $P && $PIPIT push count" \
    "cd $D && $DVC remote modify s3 url s3://bench/dvc-\$RANDOM\$RANDOM" "cd $D && $DVC push -q $DVC_J small.dvc"
compare push-1g 2 \
    "cd $P && $PIPIT remote modify s3 url s3://bench/pipit-\$RANDOM\$RANDOM >/dev/null" "cd $P && $PIPIT push size" \
    "cd $D && $DVC remote modify s3 url s3://bench/dvc-\$RANDOM\$RANDOM" "cd $D && $DVC push -q $DVC_J big.bin.dvc"
# Leave everything on one prefix for the pulls.
# (Ceph's in-memory OSD has no room for the large file.)
if [ "$S3_SERVER" = ceph ]; then PIPIT_SHARED=count DVC_SHARED=small.dvc; else PIPIT_SHARED="" DVC_SHARED=""; fi
(cd "$P" && "$PIPIT" remote modify s3 url s3://bench/pipit-shared >/dev/null && "$PIPIT" push $PIPIT_SHARED >/dev/null)
(cd "$D" && "$DVC" remote modify s3 url s3://bench/dvc-shared && "$DVC" push -q $DVC_SHARED)

# pull into a fresh clone: the committed files only.
clone() { # tool, from, to
    rm -rf "$3" && mkdir -p "$3" && cd "$3" && git init -q
    if [ "$1" = dvc ]; then
        cp -r "$2/.dvc" . && rm -rf .dvc/cache .dvc/tmp && cp "$2"/{dvc.yaml,dvc.lock,small.dvc,big.bin.dvc} .
    else
        cp -r "$2/.pipit" . && cp "$2"/{pipeline.yaml,pipeline.lock,small.pipit,big.bin.pipit} .
    fi
}
declare -f clone > "$BENCH_DIR/clone.sh"
PC="$BENCH_DIR/pipit-clone" DC="$BENCH_DIR/dvc-clone"
compare pull-10k "$RUNS" \
    ". $BENCH_DIR/clone.sh && clone pipit $P $PC" "cd $PC && $PIPIT pull count" \
    ". $BENCH_DIR/clone.sh && clone dvc $D $DC" "cd $DC && $DVC pull -q $DVC_J small.dvc"
compare pull-1g 2 \
    ". $BENCH_DIR/clone.sh && clone pipit $P $PC" "cd $PC && $PIPIT pull size" \
    ". $BENCH_DIR/clone.sh && clone dvc $D $DC" "cd $DC && $DVC pull -q $DVC_J big.bin.dvc"
compare repro-pull "$RUNS" \
    ". $BENCH_DIR/clone.sh && clone pipit $P $PC" "cd $PC && $PIPIT repro --pull -q" \
    ". $BENCH_DIR/clone.sh && clone dvc $D $DC" "cd $DC && $DVC repro --pull -q"
# What a fresh clone's `repro --pull` downloads when nothing changed.
[[ " $OPS " == *" repro-pull "* ]] || { echo "results: $RESULTS"; exit 0; }
(. "$BENCH_DIR/clone.sh" && clone pipit "$P" "$PC" && cd "$PC" && "$PIPIT" repro --pull -q >/dev/null)
(. "$BENCH_DIR/clone.sh" && clone dvc "$D" "$DC" && cd "$DC" && "$DVC" repro --pull -q >/dev/null)
{
    echo
    echo "## Bytes a fresh clone's \`repro --pull\` downloads when nothing changed"
    echo
    echo "| tool | cache after | workspace data after |"
    echo "|---|---:|---:|"
    echo "| pipit | $(du -sb "$PC/.cache" 2>/dev/null | cut -f1) B | $(du -sbc "$PC/small" "$PC/big.bin" 2>/dev/null | tail -1 | cut -f1) B |"
    echo "| dvc | $(du -sb "$DC/.dvc/cache" 2>/dev/null | cut -f1) B | $(du -sbc "$DC/small" "$DC/big.bin" 2>/dev/null | tail -1 | cut -f1) B |"
} >> "$RESULTS"
echo "results: $RESULTS"
