LOG=${MAAS_ESXI_LOG:-$MAAS_ESXI_ROOT/var/log/maas-esxi.log}
case $LOG in */*) mkdir -p "${LOG%/*}" 2>/dev/null ;; esac
TAB=$(printf '\t')
NL='
'
failures=0
failed=''
changes=0

log() { printf '%s\n' "$*" >>"$LOG"; }
say() { printf 'maas-esxi: %s\n' "$*" >&2; log "# $*"; }
fail() { failures=$((failures + 1)); failed="$failed$NL  $*"; say "FAILED: $*"; }

# run CMD...: changes the host. Logged with its output; a failure is recorded and the run goes on.
run() {
  log "+ $*"
  if out=$("$@" 2>&1); then
    [ -z "$out" ] || log "$out"
    changes=$((changes + 1))
    return 0
  fi
  [ -z "$out" ] || log "$out"
  fail "$*${out:+: $out}"
  return 1
}

# query VAR 'FIELD FIELD...' CMD...: runs an esxcli command with --formatter=csv and stores the named fields of every
# row in VAR, tab separated, one row a line. Columns are found by header name (case, spaces and
# punctuation ignored), never by position; quoted fields and trailing commas are understood.
query() {
  q_var=$1
  q_fields=$2
  shift 2
  log "+ $*"
  if ! q_out=$("$@" 2>&1); then
    [ -z "$q_out" ] || log "$q_out"
    fail "$*${q_out:+: $q_out}"
    eval "$q_var=''"
    return 1
  fi
  q_rows=$(printf '%s\n' "$q_out" | W="$q_fields" awk '
    function split_csv(line,   n, i, c, f, quoted) {
      n = 0; f = ""; quoted = 0
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (quoted) {
          if (c == "\"") {
            if (substr(line, i + 1, 1) == "\"") { f = f "\""; i++ } else quoted = 0
          } else f = f c
        } else if (c == "\"") quoted = 1
        else if (c == ",") { cell[++n] = f; f = "" }
        else if (c != "\r") f = f c
      }
      cell[++n] = f
      return n
    }
    function key(s) { s = tolower(s); gsub(/[^a-z0-9]/, "", s); return s }
    BEGIN { nw = split(ENVIRON["W"], want, " ") }
    /^[ \t\r]*$/ { next }
    !header { n = split_csv($0); for (i = 1; i <= n; i++) col[key(cell[i])] = i; header = 1; next }
    {
      n = split_csv($0); row = ""
      for (j = 1; j <= nw; j++) {
        # A wanted field may name alternatives: `RouterAdvEnabled|RouterAdvertisementsEnabled`.
        na = split(want[j], alt, "|"); v = ""
        for (a = 1; a <= na; a++) { k = key(alt[a]); if (k in col && col[k] <= n) { v = cell[col[k]]; break } }
        gsub(/[\t\n]/, " ", v); gsub(/, +/, ",", v); sub(/,+$/, "", v); sub(/^ +/, "", v); sub(/ +$/, "", v)
        row = row (j > 1 ? "\t" : "") v
      }
      for (i in cell) delete cell[i]
      print row
    }')
  eval "$q_var=\$q_rows"
}

# get TABLE KEY N: field N of the first row of TABLE whose first field is KEY.
get() { printf '%s\n' "$1" | K="$2" awk -F "$TAB" -v n="$3" '$1 == ENVIRON["K"] { print $n; exit }'; }
# has TABLE KEY: whether TABLE has a row whose first field is KEY.
has() { printf '%s\n' "$1" | K="$2" awk -F "$TAB" '$1 == ENVIRON["K"] { found = 1; exit } END { exit !found }'; }
# inlist LIST ITEM: whether the comma separated LIST holds ITEM.
inlist() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }
lower() { printf '%s' "$1" | tr 'A-Z' 'a-z'; }
# nic_by_mac MAC: the vmnic with that MAC (any case).
nic_by_mac() { printf '%s\n' "$NICS" | M="$1" awk -F "$TAB" 'tolower($2) == tolower(ENVIRON["M"]) { print $1; exit }'; }
# prefix_of NETMASK: the prefix length of a dotted IPv4 netmask.
prefix_of() {
  printf '%s\n' "$1" | awk -F . '{ n = 0; for (i = 1; i <= 4; i++) { v = $i; while (v > 0) { n += v % 2; v = int(v / 2) } } print n }'
}
# list_clean LIST: drops empty items from a comma separated list.
list_clean() { printf '%s' "$1" | tr -s ',' | sed 's/^,//; s/,$//'; }
# teaming NAME: esxcli's spelling of a load-balancing policy, as the plan spells it.
teaming() {
  case $(lower "$1") in
    srcport | portid | loadbalance_srcid) echo portid ;;
    srcmac | mac | loadbalance_srcmac) echo mac ;;
    iphash | loadbalance_ip) echo iphash ;;
    explicit | failover_explicit) echo explicit ;;
    *) echo "$1" ;;
  esac
}
# is_default NETWORK NETMASK: whether a route-list row is a default route.
is_default() {
  case "$1/$2" in
    default/* | 0.0.0.0/0.0.0.0 | 0.0.0.0/0 | ::/0) return 0 ;;
  esac
  return 1
}
# no_gateway GATEWAY: whether a route-list row is a connected route (no next hop).
no_gateway() { case "$1" in '' | 0.0.0.0 | :: | '<direct>') return 0 ;; esac; return 1; }

# finish: the summary, and the exit status: 1 if any command failed.
finish() {
  if [ "$failures" -gt 0 ]; then
    say "$failures command(s) failed, $changes change(s) made:$failed"
    exit 1
  fi
  say "host configured: $changes change(s)"
  exit 0
}
