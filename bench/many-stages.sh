# Sourced by the bench scripts: `make_project FOLDER PIPELINE_FILE` makes a git
# repository of $STAGES independent stages, each copying a small input file,
# plus one stage that joins them all.
make_project() { # $1 = folder, $2 = pipeline file name
    rm -rf "$1" && mkdir -p "$1/data" && cd "$1"
    git init -q
    for i in $(seq 1 "$STAGES"); do
        seq 1 2000 | sed "s/\$/,$i/" > "data/in$i.csv"
    done
    {
        echo "stages:"
        echo "  copy:"
        echo "    foreach:"
        for i in $(seq 1 "$STAGES"); do echo "      - $i"; done
        echo "    do:"
        echo "      cmd: mkdir -p out && cp data/in\${item}.csv out/\${item}.csv"
        echo "      deps:"
        echo "        - data/in\${item}.csv"
        echo "      outs:"
        echo "        - out/\${item}.csv"
        echo "  join:"
        echo "    cmd: cat out/*.csv > all.csv"
        echo "    deps:"
        echo "      - out"
        echo "    outs:"
        echo "      - all.csv"
    } > "$2"
}
