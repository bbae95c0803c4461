#!/usr/bin/env bash
# What the engine costs on top of the commands it runs: pipit against the
# same commands run by a plain `sh` script (the floor), on ext4 and on tmpfs,
# and its no-op `repro` and `status` against DVC.
#
#   bench/engine-speed.sh [FS…]          (FS: ext4, tmpfs; default both)
#
# Workloads (STAGES=50 stages, FILES=100 files of 10 KiB per stage):
#   chain    gen -> s1 -> … -> s50, each stage rewriting the files of the one
#            before (one `awk` each); s25 also reads the param `p`
#   fan-out  gen, then 50 stages each reading gen's files
# Timed (hyperfine):
#   chain: first `repro` (no cache, no lock) and the floor running all 51
#          commands; `repro` after `p` changes (26 stages run) and the floor
#          running those 26; no-op `repro` and `status`, and DVC's
#   fan-out: first `repro -j 1` and `-j 2`, and the floor
#   1,000 stages: no-op `repro` and `status` of 1,000 independent stages
#          and one joining them (bench/many-stages.sh)
#   many files: `add` of a folder of 10,000 files of 10 KiB and its
#          `checkout` once deleted, against `cp -r` of it
#   a big file: `add` of a 1 GiB file against `b3sum` of it and `cp` of it
#          (the goal: pipit within 1 / 0.9 of the two together), and its
#          `checkout` once deleted
# ext4 runs on a file system made for the run (mkfs.ext4's defaults, so with
# a journal), in an 8 GiB image in memory (/dev/shm), loop-mounted (needs
# root); or under $BENCH_DIR when given. So it measures ext4's own work, the
# same from run to run, not a disk's: on this machine's disk, runs of the
# same command took from 0.16 to 1.5 s. That disk has no journal, and ext4
# without one skips every inode deleted in the last minute when it makes a
# file, reading each to check; each run here deletes the 10,000 files the run
# before made. An image on that disk instead made the 1 GiB runs wait for its
# writeback (`cp` from 0.27 to 2.5 s). tmpfs runs under
# /dev/shm/pipit-engine-bench. DVC comes from PyPI into a virtualenv under
# /tmp/pipit-bench. PIPIT=path times that binary instead of building one.
# Results go to bench/results/engine-speed-<date>.md (-2, -3… for
# later runs that day).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STAGES="${STAGES:-50}"
FILES="${FILES:-100}"
RUNS="${RUNS:-5}"
[ $# -gt 0 ] || set -- ext4 tmpfs
FILESYSTEMS=("$@")
for tool in hyperfine b3sum; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool"; }
done
VENV=/tmp/pipit-bench/venv
if [ ! -x "$VENV/bin/dvc" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q dvc
fi
DVC="$VENV/bin/dvc"
if [ -z "${PIPIT:-}" ]; then
    (cd "$ROOT" && cargo build --release -q)
    PIPIT="${CARGO_TARGET_DIR:-$ROOT/target}/release/pipit"
fi
MIDDLE=$((STAGES / 2))
. "$ROOT/bench/many-stages.sh"
. "$ROOT/bench/engine-workloads.sh"

# Makes and mounts an empty ext4 file system with mkfs.ext4's defaults (see
# above) at $EXT4, unmounted and deleted when the script ends.
EXT4=/tmp/pipit-bench-ext4
EXT4_IMAGE=/dev/shm/pipit-bench-ext4.img
fresh_ext4() {
    drop_ext4
    truncate -s 8G "$EXT4_IMAGE" && mkfs.ext4 -q -F "$EXT4_IMAGE"
    mkdir -p "$EXT4" && mount -o loop "$EXT4_IMAGE" "$EXT4"
    trap drop_ext4 EXIT
}
drop_ext4() {
    cd /
    if mountpoint -q "$EXT4"; then umount "$EXT4"; fi
    rm -f "$EXT4_IMAGE"
}

OUT="$(results_file engine-speed)"
{
    echo "# The engine against the floor ($(date +%F))"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr);"
    echo "pipit $("$PIPIT" --version | cut -d' ' -f2), DVC $("$DVC" --version)."
    echo "Command: bench/engine-speed.sh ${FILESYSTEMS[*]} ($STAGES stages, $FILES files of 10 KiB each)"
} > "$OUT"
table() { # title, hyperfine arguments…
    local title="$1"
    shift
    hyperfine -N --runs "$RUNS" --export-markdown /tmp/engine-speed-table.md "$@" >&2
    { echo; echo "## $title"; echo; cat /tmp/engine-speed-table.md; } >> "$OUT"
}
# `pipit add PATH` in FOLDER (its cache emptied first) and `pipit checkout`
# of it once deleted, after the commands they are measured against.
add_and_checkout() { # title, folder, path, hyperfine arguments of those commands…
    local title="$1" dir="$2" path="$3"
    shift 3
    table "$title" "$@" \
        --prepare "sh -c 'rm -rf $dir/.cache $dir/$path.pipit && sync'" \
        -n "pipit add" "sh -c 'cd $dir && $PIPIT add $path'" \
        --prepare "sh -c 'rm -rf $dir/$path && sync'" \
        -n "pipit checkout" "sh -c 'cd $dir && $PIPIT checkout'"
}

for fs in "${FILESYSTEMS[@]}"; do
    case "$fs" in
        ext4) [ -n "${BENCH_DIR:-}" ] || fresh_ext4
              BASE="${BENCH_DIR:-$EXT4/pipit-engine-bench}" ;;
        tmpfs) BASE=/dev/shm/pipit-engine-bench ;;
        *) echo "unknown file system $fs: ext4 or tmpfs" >&2; exit 2 ;;
    esac
    CHAIN="$BASE/chain"
    FAN="$BASE/fanout"
    make_chain "$CHAIN"
    # Each run starts with nothing left to write back (ext4's writeback of
    # the run before otherwise lands in the next one).
    clean_chain="sh -c 'rm -rf $CHAIN/.cache $CHAIN/pipeline.lock $CHAIN/s[0-9]* && sync'"
    table "$fs: chain, first repro" \
        --prepare "$clean_chain" -n "sh floor.sh" "sh -c 'cd $CHAIN && sh floor.sh'" \
        --prepare "$clean_chain" -n "pipit repro" "sh -c 'cd $CHAIN && $PIPIT repro -q'"
    # Each run a new value of `p`, so the run cache never has it.
    next_p="sh -c 'cd $CHAIN && n=\$(cat counter 2>/dev/null || echo 1) && echo \$((n + 1)) > counter && echo p: \$n > params.yaml && sync'"
    (cd "$CHAIN" && "$PIPIT" repro -q >/dev/null && sh floor.sh)
    table "$fs: chain, repro after a param change ($((STAGES - MIDDLE + 1)) stages run)" \
        --prepare "$next_p" -n "sh floor-param.sh" "sh -c 'cd $CHAIN && sh floor-param.sh'" \
        --prepare "$next_p" -n "pipit repro" "sh -c 'cd $CHAIN && $PIPIT repro -q'"
    if [ "$fs" = ext4 ]; then
        (cd "$CHAIN" && "$PIPIT" repro -q >/dev/null)
        rm -rf "$BASE/dvc" && cp -r "$CHAIN" "$BASE/dvc" && rm -rf "$BASE/dvc/.cache" "$BASE/dvc/pipeline.lock"
        (cd "$BASE/dvc" && "$DVC" init -q && "$DVC" config core.analytics false && "$DVC" repro -q >/dev/null)
        # Run where the chain is, without a shell (a few ms that would count
        # against the quicker tool); DVC is pointed at its copy with --cd.
        (cd "$CHAIN" && table "$fs: chain, no-op repro and status" \
            -n "pipit repro" "$PIPIT repro -q" \
            -n "pipit status" "$PIPIT status" \
            -n "dvc repro" "$DVC --cd $BASE/dvc repro -q" \
            -n "dvc status" "$DVC --cd $BASE/dvc status -q")
    fi
    make_fanout "$FAN"
    clean_fan="sh -c 'rm -rf $FAN/.cache $FAN/pipeline.lock $FAN/gen $FAN/f[0-9]* && sync'"
    table "$fs: fan-out, first repro" \
        --prepare "$clean_fan" -n "sh floor.sh" "sh -c 'cd $FAN && sh floor.sh'" \
        --prepare "$clean_fan" -n "pipit repro -j 1" "sh -c 'cd $FAN && $PIPIT repro -q -j 1'" \
        --prepare "$clean_fan" -n "pipit repro -j 2" "sh -c 'cd $FAN && $PIPIT repro -q -j 2'"

    THOUSAND="$BASE/thousand"
    (STAGES=1000 make_project "$THOUSAND" pipeline.yaml && git add -A && git commit -qm stages \
        && "$PIPIT" repro -q >/dev/null)
    (cd "$THOUSAND" && table "$fs: 1,000 stages, no-op repro and status" \
        -n "pipit repro" "$PIPIT repro -q" -n "pipit status" "$PIPIT status")
    rm -rf "$THOUSAND"

    MANY="$BASE/many"
    rm -rf "$MANY" && mkdir -p "$MANY/data" && cd "$MANY" && git init -q
    echo "stages: {}" > pipeline.yaml
    awk 'BEGIN { while (length(filler) < 10235) filler = filler "0123456789abcdef"
        filler = substr(filler, 1, 10235)
        for (f = 0; f < 10000; f++) {
            file = sprintf("data/%05d", f)
            printf "%05d%s", f, filler > file
            close(file)
        } }'
    sync
    add_and_checkout "$fs: a folder of 10,000 files of 10 KiB" "$MANY" data \
        --prepare "sh -c 'rm -rf $MANY/copy && sync'" -n "cp -r" "cp -r $MANY/data $MANY/copy"
    cd "$ROOT" && rm -rf "$MANY"

    BIG="$BASE/big"
    rm -rf "$BIG" && mkdir -p "$BIG" && cd "$BIG" && git init -q
    echo "stages: {}" > pipeline.yaml
    head -c 1073741824 /dev/urandom > big.bin
    sync
    # One run first, not timed: on a virtual machine the first run to need a
    # GiB of new memory can wait seconds for it (every tool alike).
    add_and_checkout "$fs: a file of 1 GiB" "$BIG" big.bin --warmup 1 \
        --prepare true -n "b3sum" "b3sum $BIG/big.bin" \
        --prepare "sh -c 'rm -f $BIG/copy.bin && sync'" -n "cp" "cp $BIG/big.bin $BIG/copy.bin"
    cd "$ROOT" && rm -rf "$BIG"
    # Its memory back before the next file system.
    [ "$fs" != ext4 ] || [ -n "${BENCH_DIR:-}" ] || drop_ext4
done
cat "$OUT"
