# The workloads of bench/engine-speed.sh and bench/engine-ab.sh: a chain and
# a fan-out of $STAGES stages, each writing $FILES files of 10 KiB, as a
# pipeline and as the plain `sh` script of the same commands (the floor).
# Sourced; needs ROOT, STAGES, FILES and MIDDLE (the stage reading the
# param `p`).

# The two commands every stage runs: `gen.sh OUT` writes FILES files of
# 10 KiB, each different (the second field of every line names its file);
# `step.sh IN OUT TAG [MARK]` rewrites IN's files into OUT, the first field
# of each line TAG (and the third MARK, which the stages after keep).
write_scripts() {
    cat > gen.sh <<EOF
rm -rf "\$1" && mkdir "\$1" && exec awk -v dir="\$1" 'BEGIN {
    filler = sprintf("%090d", 0)
    for (f = 0; f < $FILES; f++) {
        file = sprintf("%s/%03d", dir, f)
        for (l = 0; l < 100; l++) printf "%03d %03d-%03d %s\n", f, f, l, filler > file
        close(file)
    }
}'
EOF
    cat > step.sh <<'EOF'
rm -rf "$2" && mkdir "$2" && exec awk -v tag="$3" -v mark="$4" -v dir="$2" '
FNR == 1 { if (out) close(out); n = split(FILENAME, parts, "/"); out = dir "/" parts[n] }
{ $1 = tag; if (mark != "") $3 = mark; print > out }' "$1"/*
EOF
}

# A stage of the pipeline file and its line of the floor script.
stage() { # name, command (with ${p} for the param), deps…; uses $PARAM_STAGE
    local name="$1" cmd="$2"
    shift 2
    {
        echo "  $name:"
        echo "    cmd: $cmd"
        [ "$name" = "$PARAM_STAGE" ] && printf '    params:\n      - p\n'
        if [ $# -gt 0 ]; then
            echo "    deps:"
            for dep in "$@"; do echo "      - $dep"; done
        fi
        echo "    outs:"
        echo "      - $name"
    } >> pipeline.yaml
    echo "$cmd" >> floor.sh
}

make_chain() { # folder
    rm -rf "$1" && mkdir -p "$1" && cd "$1"
    git init -q && write_scripts
    echo "p: 0" > params.yaml
    echo "stages:" > pipeline.yaml
    # The floor reads `p` as the stages do.
    echo "p=\$(sed -n 's/^p: //p' params.yaml)" > floor.sh
    PARAM_STAGE="s$MIDDLE"
    stage s0 "sh gen.sh s0"
    for i in $(seq 1 "$STAGES"); do
        tag="$i"
        [ "$i" = "$MIDDLE" ] && tag="$i \${p}"
        stage "s$i" "sh step.sh s$((i - 1)) s$i $tag" "s$((i - 1))"
    done
    # The floor of a param change: the stages from the one reading `p`.
    { head -n 1 floor.sh && tail -n "$((STAGES - MIDDLE + 1))" floor.sh; } > floor-param.sh
    cp pipeline.yaml dvc.yaml
    git add -A && git commit -qm chain
}

make_fanout() { # folder
    rm -rf "$1" && mkdir -p "$1" && cd "$1"
    git init -q && write_scripts
    echo "p: 0" > params.yaml
    echo "stages:" > pipeline.yaml
    : > floor.sh
    PARAM_STAGE=none
    stage gen "sh gen.sh gen"
    for i in $(seq 1 "$STAGES"); do
        stage "f$i" "sh step.sh gen f$i $i" gen
    done
    git add -A && git commit -qm fan-out
}

# Prints where a run's results go: bench/results/NAME-<date>.md, or -2, -3…
# for later runs that day (written beside the first, not over it).
results_file() { # name
    local out="$ROOT/bench/results/$1-$(date +%F).md" n
    for n in $(seq 2 99); do
        [ -e "$out" ] || break
        out="$ROOT/bench/results/$1-$(date +%F)-$n.md"
    done
    echo "$out"
}

# Makes the chain and the fan-out in $BASE/chain and $BASE/fanout, BASE being
# the folder named under $AB_DIR (/dev/shm, tmpfs, by default); sets BASE,
# and FS to its file system's type.
make_workloads() { # folder name
    BASE="${AB_DIR:-/dev/shm}/$1"
    FS="$(df --output=fstype "$(dirname "$BASE")" | tail -n 1)"
    (make_chain "$BASE/chain")
    (make_fanout "$BASE/fanout")
}

# The line of a results file that says what ran it, and where.
machine() {
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); $FS ($BASE)."
}
