#!/usr/bin/env bash
# Benchmark: executions per second of the fuzz target (fuzz/fuzz_targets/pipeline.rs) at two revisions,
# side by side on the same inputs.
#
# Builds the fuzz target of BASE and of NEW (a revision, or the work tree when NEW is left out) as
# scripts/fuzz builds it (cargo-fuzz, no sanitizer, release with debug assertions), each from a `git
# archive` of its revision in a temporary directory, and runs both on the config files among the work
# tree's fixtures:
#   replay   every fixture executed REPLAY times in a row (-runs=REPLAY on the files): a fixed workload,
#            most of it accepted configs, so rendering counts
#   corpus   every input of the fuzzing corpus (fuzz/corpus/pipeline, when scripts/fuzz has made one; a
#            copy) executed once: inputs the fuzzer made, most of them rejected before a plan exists
#   fuzz     libFuzzer from a fresh copy of the fixtures, -seed=1, FUZZ_RUNS executions: what a campaign
#            does; the mutations follow coverage, so the two binaries do not run quite the same inputs
# Each measurement runs ROUNDS times, alternating BASE and NEW; the table has the median and the ratio.
#
# Needs the nightly toolchain and cargo-fuzz, like scripts/fuzz.
#
# Usage: benches/fuzz.sh BASE [NEW]     (from anywhere; not part of scripts/test)
#        ROUNDS=3 REPLAY=20 FUZZ_RUNS=30000 by default
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
base=${1:?usage: benches/fuzz.sh BASE [NEW]}
new=${2:-}
rounds=${ROUNDS:-3}
replay=${REPLAY:-20}
fuzz_runs=${FUZZ_RUNS:-30000}

# shellcheck source=benches/common.sh
source "$repo/benches/common.sh"

header "(cd $repo && ROUNDS=$rounds REPLAY=$replay FUZZ_RUNS=$fuzz_runs benches/fuzz.sh $base${new:+ $new})"

toolchain=+nightly
if ! cargo +nightly --version >/dev/null 2>&1; then
    toolchain=
    export RUSTC_BOOTSTRAP=1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/maas-esxi-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
out_dir=$repo/target/bench/fuzz
mkdir -p "$out_dir"

# build NAME REV: the fuzz target of REV (the work tree when REV is empty) as $work/NAME.
build() {
    local name=$1 rev=$2 src
    if [[ -n $rev ]]; then
        src=$work/src-$name
        mkdir -p "$src"
        git archive "$(git rev-parse --verify "$rev^{commit}")" | tar -x -C "$src"
    else
        src=$repo
    fi
    section "cargo fuzz build ($name: ${rev:-work tree})"
    (cd "$src/fuzz" && cargo $toolchain fuzz build --sanitizer none --release --debug-assertions \
        --target-dir "$out_dir/target-$name" pipeline >&2)
    cp "$out_dir/target-$name/x86_64-unknown-linux-gnu/release/pipeline" "$work/$name"
}
build base "$base"
build new "$new"

seeds=$work/seeds
mkdir -p "$seeds"
find fixtures -type f \( -name '*.yaml' -o -name '*.json' \) | while read -r f; do
    seed=${f#fixtures/}
    cp "$f" "$seeds/${seed//\//-}"
done
files=("$seeds"/*)
corpus=()
if [[ -d fuzz/corpus/pipeline ]]; then
    cp -r fuzz/corpus/pipeline "$work/made"
    corpus=("$work/made"/*)
fi
echo "inputs:    ${#files[@]} fixture configs, replayed ${replay}x each; ${#corpus[@]} corpus inputs, once each;"
echo "           fuzz $fuzz_runs executions, -seed=1"
echo "rounds:    $rounds, alternating base and new"

# seconds COMMAND...: wall time of COMMAND in seconds, its output discarded.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$end"
}

# per_second COUNT SECONDS
per_second() {
    python3 -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" "$1" "$2"
}

results=$work/results
: >"$results"
for round in $(seq 1 "$rounds"); do
    for name in base new; do
        section "round $round: $name"
        t=$(seconds "$work/$name" -runs="$replay" "${files[@]}")
        echo "replay $name $(per_second $((${#files[@]} * replay)) "$t")" >>"$results"
        if ((${#corpus[@]} > 0)); then
            t=$(seconds "$work/$name" -runs=1 "${corpus[@]}")
            echo "corpus $name $(per_second ${#corpus[@]} "$t")" >>"$results"
        fi
        rm -rf "$work/corpus"
        cp -r "$seeds" "$work/corpus"
        t=$(seconds "$work/$name" -seed=1 -runs="$fuzz_runs" -max_len=65536 "$work/corpus")
        echo "fuzz $name $(per_second "$fuzz_runs" "$t")" >>"$results"
    done
done
cp "$results" "$out_dir/results.txt"

section "report"
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def median(kind, name):
    return statistics.median(float(r[2]) for r in rows if r[0] == kind and r[1] == name)
print()
print("| workload | base (exec/s, median) | new (exec/s, median) | new/base |")
print("|----------|----------------------:|---------------------:|---------:|")
for kind in ("replay", "corpus", "fuzz"):
    if not any(r[0] == kind for r in rows):
        continue
    b, n = median(kind, "base"), median(kind, "new")
    print("| %-8s | %21.0f | %20.0f | %8.2f |" % (kind, b, n, n / b))
PY
echo
echo "raw results: $out_dir/results.txt"
