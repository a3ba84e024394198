#!/usr/bin/env bash
# Benchmark: `maas-esxi translate` time against network config size.
#
# For N in 100 200 500 1000 links, generates a MAAS curtin v1 network config
# (benches/gen_config.py) and times, process start to exit:
#   ours     target/x86_64-unknown-linux-gnu/release/maas-esxi translate F >/dev/null
#   PyYAML   python3 -c 'import yaml; yaml.safe_load(open(F))'
#            (python3 resolved to the interpreter's real path)
# PyYAML is the yardstick: loading the same file with the YAML library MAAS
# and curtin use. Its time includes starting python3 and importing yaml; the
# baseline row shows that fixed cost. Ours includes process start too.
#
# Uses hyperfine (installed with apt-get when missing and possible; otherwise
# a small python3 timer with the same warmup and run counts).
#
# Usage: benches/translate.sh        (from anywhere; not part of scripts/test)
# Results: target/bench/translate/*.json (hyperfine --export-json format).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

SIZES=(100 200 500 1000)
WARMUP=3
RUNS=20
out_dir=$repo/target/bench/translate

# shellcheck source=benches/common.sh
source "$repo/benches/common.sh"

header "(cd $repo && benches/translate.sh)"

section "tools"
if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "PyYAML missing; installing it" >&2
    python3 -m pip install --quiet pyyaml >&2 ||
        { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-yaml >&2; }
fi
python3 -c 'import yaml' || { echo "error: PyYAML is not importable by python3" >&2; exit 3; }
# The interpreter itself, not a wrapper such as a pyenv shim, whose own
# start-up would be charged to PyYAML.
python=$(python3 -c 'import sys; print(sys.executable)')
if ! command -v hyperfine >/dev/null 2>&1; then
    echo "hyperfine missing; trying apt-get install hyperfine" >&2
    if [[ $(id -u) -eq 0 ]]; then
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends hyperfine; } >&2 ||
            echo "warning: could not install hyperfine; using the python3 fallback timer" >&2
    fi
fi
if command -v hyperfine >/dev/null 2>&1; then
    timer="$(hyperfine --version)"
    # No intermediate shell when hyperfine supports it: at a few milliseconds
    # per run, a shell's own start-up would be a visible share of the result.
    hf_shell=()
    if hyperfine --help 2>/dev/null | grep -q -- '--shell'; then
        hf_shell=(--shell=none)
    fi
else
    timer="python3 fallback timer (perf_counter around subprocess.run)"
fi
echo "timer:     $timer"
echo "python3:   $python $("$python" -c 'import sys, yaml; print(sys.version.split()[0], "PyYAML", yaml.__version__, "(yaml.safe_load: pure-Python SafeLoader)")')"
echo "runs:      $WARMUP warmup + $RUNS timed per command"

section "cargo build --release"
cargo build --release --locked >&2
bin=$repo/target/x86_64-unknown-linux-gnu/release/maas-esxi

work=$(mktemp -d "${TMPDIR:-/tmp}/maas-esxi-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$out_dir"
mkdir -p "$out_dir"

# measure NAME COMMAND...: time COMMAND, write $out_dir/NAME.json.
measure() {
    local name=$1
    shift
    if [[ $timer == hyperfine* ]]; then
        hyperfine "${hf_shell[@]}" --style basic --warmup "$WARMUP" --runs "$RUNS" \
            --export-json "$out_dir/$name.json" --command-name "$name" -- "$(quote "$@")" >&2
    else
        python3 - "$out_dir/$name.json" "$WARMUP" "$RUNS" "$name" "$@" <<'PY'
import json, subprocess, sys, time
out, warmup, runs, name, argv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
def once():
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start
for _ in range(warmup):
    once()
times = [once() for _ in range(runs)]
mean = sum(times) / len(times)
sd = (sum((t - mean) ** 2 for t in times) / (len(times) - 1)) ** 0.5
json.dump({"results": [{"command": name, "mean": mean, "stddev": sd, "times": times}]}, open(out, "w"))
PY
    fi
}

# quote ARGS...: one shell-words string, as hyperfine parses its commands.
quote() {
    local arg quoted=()
    for arg in "$@"; do
        quoted+=("$(printf '%q' "$arg")")
    done
    echo "${quoted[*]}"
}

section "baseline"
measure baseline-python-import-yaml "$python" -c 'import yaml'

for n in "${SIZES[@]}"; do
    f=$work/net-$n.yaml
    python3 benches/gen_config.py "$n" >"$f"
    # The benchmark is only meaningful if the config is accepted.
    if ! "$bin" translate "$f" >/dev/null 2>"$work/stderr-$n"; then
        echo "error: maas-esxi translate rejected the generated $n-link config:" >&2
        cat "$work/stderr-$n" >&2
        exit 1
    fi
    section "N=$n ($(wc -c <"$f") bytes)"
    measure "ours-$n" "$bin" translate "$f"
    measure "pyyaml-$n" "$python" -c "import yaml; yaml.safe_load(open('$f'))"
    cp "$f" "$out_dir/net-$n.yaml"
done
n=${SIZES[-1]}
section "N=$n, --format json"
measure "ours-json-$n" "$bin" translate --format json "$work/net-$n.yaml"

section "report"
python3 - "$out_dir" "${SIZES[@]}" <<'PY'
import json, os, sys

out, sizes = sys.argv[1], [int(n) for n in sys.argv[2:]]

def result(name):
    with open(os.path.join(out, name + ".json")) as f:
        r = json.load(f)["results"][0]
    return r["mean"] * 1e3, r["stddev"] * 1e3

def size(n):
    return os.path.getsize(os.path.join(out, "net-%d.yaml" % n)) / 1024

print()
print("| N links | file (KiB) | ours (ms, mean±sd) | PyYAML load (ms, mean±sd) | ours/PyYAML (%) | ours per link (µs) |")
print("|--------:|-----------:|-------------------:|--------------------------:|----------------:|-------------------:|")
for n in sizes:
    ours, ours_sd = result("ours-%d" % n)
    py, py_sd = result("pyyaml-%d" % n)
    print("| %7d | %10.1f | %10.2f ± %5.2f | %17.2f ± %5.2f | %15.1f | %18.1f |" % (
        n, size(n), ours, ours_sd, py, py_sd, 100 * ours / py, 1e3 * ours / n))

base, base_sd = result("baseline-python-import-yaml")
lo, hi = sizes[0], sizes[-1]
t_lo, _ = result("ours-%d" % lo)
t_hi, _ = result("ours-%d" % hi)
p_lo, _ = result("pyyaml-%d" % lo)
p_hi, _ = result("pyyaml-%d" % hi)
js, js_sd = result("ours-json-%d" % hi)
print()
print("baseline: python3 -c 'import yaml' = %.2f ± %.2f ms (start-up included in every PyYAML figure)" % (base, base_sd))
print("scaling:  ours time(%d)/time(%d) = %.2f  (PyYAML load: %.2f)" % (hi, lo, t_hi / t_lo, p_hi / p_lo))
print("marginal: ours (time(%d)-time(%d))/%d = %.1f µs per extra link  (PyYAML load: %.1f µs)" % (
    hi, lo, hi - lo, 1e3 * (t_hi - t_lo) / (hi - lo), 1e3 * (p_hi - p_lo) / (hi - lo)))
print("json:     maas-esxi translate --format json, N=%d: %.2f ± %.2f ms (script: %.2f ms)" % (hi, js, js_sd, t_hi))
PY
echo
echo "raw results: $out_dir"
