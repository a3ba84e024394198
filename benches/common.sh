# Sourced by the benchmark scripts: `section`, and `header CMD`, which prints how to reproduce the run
# and what it ran on (revision, CPU, rustc).

section() {
    printf '\n==> %s\n' "$*" >&2
}

header() {
    echo "reproduce: $1"
    local rev
    if rev=$(git rev-parse --short HEAD 2>/dev/null); then
        git diff --quiet HEAD -- || rev="$rev (work tree differs)"
    else
        rev="no commit yet"
    fi
    echo "revision:  $rev"
    echo "cpu:       $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || uname -m), $(nproc) threads"
    echo "rustc:     $(rustc --version)"
}
