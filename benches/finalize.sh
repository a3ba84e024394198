#!/usr/bin/env bash
# Benchmark: `maas-esxi image finalize` against `pigz -6 -c` and `gzip -6 -c`
# on the same sparse raw disk.
#
# The disk has the size of a real ESXi build disk (32 GiB by default,
# DISK_GIB=N to change it), an ESXi 7.0+ GPT (partition 1 FAT16 of 100 MiB,
# 5 and 6 bootbanks of 4095 MiB, 6 formatted FAT16 with 64 KiB clusters as
# the largest FAT16 must be, 7 VMFS-L, 8 VMFS) and a few hundred MiB of data at
# fixed offsets: 208 MiB from /dev/urandom and 128 MiB of source text from /usr
# (*.py, *.pm, *.h; repeated if there is less). Everything else is holes.
#
# Ours runs first: it writes curtin/ into partition 6 and compresses; pigz and
# gzip then compress the same, finalized disk. Each command runs once under
# /usr/bin/time -v (wall time, max RSS) with the page cache warm. Our output
# is checked with `zcat | cmp` against the disk at the end.
#
# Needs: gdisk (sgdisk), dosfstools (mkfs.fat), pigz, gzip, time; installed
# with apt-get when missing and running as root. About 1.5 GiB of free space
# in $TMPDIR (default /tmp), on a file system with SEEK_HOLE (ext4, xfs,
# btrfs, tmpfs).
#
# BASELINE=/path/to/maas-esxi adds a run of another build of maas-esxi (an
# earlier commit's, say) on a copy of the same disk, right after ours, and its
# row.
#
# Usage: benches/finalize.sh      (from anywhere; not part of scripts/test)
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
disk_gib=${DISK_GIB:-32}

# shellcheck source=benches/common.sh
source "$repo/benches/common.sh"

header "(cd $repo && DISK_GIB=$disk_gib${BASELINE:+ BASELINE=$BASELINE} benches/finalize.sh)"

section "tools"
case ":$PATH:" in
    *:/usr/sbin:*) ;;
    *) export PATH="$PATH:/usr/sbin:/sbin" ;;
esac
missing=()
command -v sgdisk >/dev/null 2>&1 || missing+=(gdisk)
command -v mkfs.fat >/dev/null 2>&1 || missing+=(dosfstools)
command -v pigz >/dev/null 2>&1 || missing+=(pigz)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: missing ${missing[*]}; install them or run as root" >&2
        exit 3
    fi
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } >&2
fi
echo "gzip:      $(gzip --version | head -1)"
echo "pigz:      $(pigz --version 2>&1)"

section "cargo build --release"
cargo build --release --locked >&2
bin=${CARGO_TARGET_DIR:-$repo/target}/x86_64-unknown-linux-gnu/release/maas-esxi

work=$(mktemp -d "${TMPDIR:-/tmp}/maas-esxi-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
disk=$work/disk.raw

section "disk: $disk_gib GiB sparse, ESXi 7.0+ layout"
truncate -s "${disk_gib}G" "$disk"
sgdisk --set-alignment=1 --new=1:64:204863 --typecode=1:EF00 \
    --set-alignment=2048 \
    --new=5:208896:+4095M --typecode=5:EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 \
    --new=6:0:+4095M --typecode=6:EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 \
    --new=7:0:+8G --typecode=7:4EB2EA39-7855-4790-A79E-FAE495E10F36 \
    --new=8:0:0 --typecode=8:AA31E02A-400F-11DB-9590-000C2911D1B8 \
    "$disk" >/dev/null
mkfs.fat -F 16 -n BOOT --offset 64 "$disk" $((204800 / 2)) >/dev/null 2>&1
p6=$(sgdisk --info=6 "$disk" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
mkfs.fat -F 16 -s 128 -n ALTBOOTBANK --offset "$p6" "$disk" $((4095 << 10)) >/dev/null 2>&1

# put OFFSET_MIB: copy stdin into the disk at OFFSET_MIB.
put() {
    dd of="$disk" bs=1M seek="$1" conv=notrunc iflag=fullblock status=none
}
text=$work/text
find /usr -type f \( -name '*.py' -o -name '*.pm' -o -name '*.h' \) -print0 2>/dev/null |
    sort -z | xargs -0 cat >"$text" 2>/dev/null || true
[[ -s $text ]] || seq 1 20000000 >"$text"
while (($(stat -c %s "$text") < 128 << 20)); do
    cat "$text" "$text" >"$text.more"
    mv "$text.more" "$text"
done
for spec in 32@120 64@500 32@1500 64@2600 16@3900; do
    head -c $((${spec%@*} << 20)) /dev/urandom | put "${spec#*@}"
done
i=0
for at in 200 1000 2000 3300; do
    dd if="$text" bs=1M skip=$((i * 32)) count=32 iflag=fullblock status=none | put "$at"
    i=$((i + 1))
done
rm "$text"
echo "allocated: $(du -m "$disk" | cut -f1) MiB of $(du -m --apparent-size "$disk" | cut -f1) MiB" >&2

# measure NAME STDOUT RESULT COMMAND...: run COMMAND under /usr/bin/time -v
# with its stdout to STDOUT; record wall seconds, max RSS (KiB) and the size
# of RESULT in $work/NAME.
measure() {
    local name=$1 stdout=$2 result=$3
    shift 3
    section "$name: $*"
    /usr/bin/time -v -o "$work/$name.time" "$@" >"$stdout"
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/$name.time" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/$name.time")
    echo "$wall $rss $(stat -c %s "$result")" >"$work/$name"
    echo "$name: $(cat "$work/$name") (wall s, max RSS KiB, bytes)" >&2
}

[[ -z ${BASELINE:-} ]] || cp --sparse=always "$disk" "$work/before.raw"
measure ours /dev/null "$work/ours.dd.gz" "$bin" image finalize --raw "$disk" --out "$work/ours.dd.gz" --binary "$bin"
if [[ -n ${BASELINE:-} ]]; then
    # On a copy as the disk was before ours, with the same holes: the disk itself must stay what ours wrote.
    cp --sparse=always "$work/before.raw" "$work/baseline.raw"
    measure baseline /dev/null "$work/baseline.dd.gz" \
        "$BASELINE" image finalize --raw "$work/baseline.raw" --out "$work/baseline.dd.gz" --binary "$bin"
    rm "$work/baseline.raw" "$work/before.raw"
fi
measure pigz "$work/pigz.gz" "$work/pigz.gz" pigz -6 -c "$disk"
measure gzip "$work/gzip.gz" "$work/gzip.gz" gzip -6 -c "$disk"

section "check: zcat ours.dd.gz | cmp - disk"
zcat "$work/ours.dd.gz" | cmp - "$disk"
echo "ours decompresses to the disk, byte for byte" >&2

section "report"
read -r ours_wall ours_rss ours_bytes <"$work/ours"
read -r pigz_wall pigz_rss pigz_bytes <"$work/pigz"
read -r gzip_wall gzip_rss gzip_bytes <"$work/gzip"
echo
echo "disk: ${disk_gib} GiB sparse, $(du -m "$disk" | cut -f1) MiB allocated; $(nproc) threads"
echo
echo "| command | wall (s) | max RSS (MiB) | output bytes | size vs gzip -6 | wall vs ours |"
echo "|---|---:|---:|---:|---:|---:|"
row() {
    awk -v name="$1" -v wall="$2" -v rss="$3" -v bytes="$4" -v gz="$gzip_bytes" -v ours="$ours_wall" 'BEGIN {
        printf "| %s | %.2f | %.1f | %d | %+.2f %% | %.1f× |\n", name, wall, rss / 1024, bytes, 100 * (bytes - gz) / gz, wall / ours
    }'
}
row "maas-esxi image finalize" "$ours_wall" "$ours_rss" "$ours_bytes"
if [[ -n ${BASELINE:-} ]]; then
    read -r base_wall base_rss base_bytes <"$work/baseline"
    row "baseline image finalize" "$base_wall" "$base_rss" "$base_bytes"
fi
row "pigz -6 -c" "$pigz_wall" "$pigz_rss" "$pigz_bytes"
row "gzip -6 -c" "$gzip_wall" "$gzip_rss" "$gzip_bytes"
echo
awk -v o="$ours_wall" -v p="$pigz_wall" -v ob="$ours_bytes" -v gb="$gzip_bytes" -v rss="$ours_rss" 'BEGIN {
    printf "targets: %.1f× faster than pigz -6 (want ≥ 10×), %+.2f %% size vs gzip -6 (want ≤ +1 %%), %.1f MiB max RSS (want ≤ 256)\n",
        p / o, 100 * (ob - gb) / gb, rss / 1024
}'
