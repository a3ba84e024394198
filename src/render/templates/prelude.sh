# The one option, --dry-run (or MAAS_ESXI_DRY_RUN set to anything but 0): read the host, change nothing, and
# print on stdout each command a real run would make, one a line, quoted for sh (see `run`).
dry=''
case ${MAAS_ESXI_DRY_RUN:-0} in 0) ;; *) dry=1 ;; esac
for arg in "$@"; do
  case $arg in
    --dry-run) dry=1 ;;
    -h | --help)
      printf 'usage: sh %s [--dry-run]\n' "$0"
      exit 0
      ;;
    *)
      printf 'usage: sh %s [--dry-run]\n' "$0" >&2
      exit 2
      ;;
  esac
done
# A dry run writes no log unless MAAS_ESXI_LOG names one: the log records what was done to the host.
if [ -n "$dry" ]; then
  LOG=${MAAS_ESXI_LOG:-/dev/null}
else
  LOG=${MAAS_ESXI_LOG:-$MAAS_ESXI_ROOT/var/log/maas-esxi.log}
fi
case $LOG in */*) mkdir -p "${LOG%/*}" 2>/dev/null ;; esac
TAB=$(printf '\t')
NL='
'
# The separators of the tables `query` makes: between the fields of a row, and between the items of a list.
SEP=$(printf '\037')
ISEP=$(printf '\036')
failures=0
failed=''
changes=0
# A value a command must be given but the log must not show (a password on esxcli's command line): `run`
# writes it as *** in the log and in messages.
MASK=''

log() { printf '%s\n' "$*" >>"$LOG"; }
say() { printf 'maas-esxi: %s\n' "$*" >&2; log "# $*"; }
fail() { failures=$((failures + 1)); failed="$failed$NL  $*"; say "FAILED: $*"; }

# run CMD...: changes the host. Logged with its output ($MASK masked); a failure is recorded and the run
# goes on. It is the only way the script changes the host: in a dry run it changes nothing, prints CMD
# (`dry_print`) and succeeds.
run() {
  if [ -n "$dry" ]; then
    dry_print '' "$@"
    return 0
  fi
  r_line=$*
  [ -z "$MASK" ] || r_line=$(masked "$r_line")
  log "+ $r_line"
  if out=$("$@" 2>&1); then
    [ -z "$MASK" ] || out=$(masked "$out")
    [ -z "$out" ] || log "$out"
    changes=$((changes + 1))
    return 0
  fi
  [ -z "$MASK" ] || out=$(masked "$out")
  [ -z "$out" ] || log "$out"
  fail "$r_line${out:+: $out}"
  return 1
}

# masked TEXT: TEXT with every copy of $MASK written as ***.
masked() {
  printf '%s\n' "$1" | M="$MASK" awk '{
    out = ""
    while ((i = index($0, ENVIRON["M"])) > 0) { out = out substr($0, 1, i - 1) "***"; $0 = substr($0, i + length(ENVIRON["M"])) }
    print out $0
  }'
}

# run_answering ANSWERS CMD...: `run` for a command that asks questions: the lines of ANSWERS are its input.
run_answering() {
  ra_answers=$1
  shift
  if [ -n "$dry" ]; then
    dry_print "$ra_answers" "$@"
    return 0
  fi
  run "$@" <<ANSWERS_EOF
$ra_answers
ANSWERS_EOF
}

# dry_print ANSWERS CMD...: what a dry run prints for a change, counted as one: CMD as a line of sh, after
# `printf '%s\n' ANSWER... |` if it reads ANSWERS, so that the line can be pasted into a shell as it is.
dry_print() {
  dp_line=''
  if [ -n "$1" ]; then
    dp_line="printf '%s\\n'"
    while IFS= read -r dp_word; do
      shq "$dp_word"
      dp_line="$dp_line $shq"
    done <<DP_EOF
$1
DP_EOF
    dp_line="$dp_line |"
  fi
  shift
  for dp_word in "$@"; do
    shq "$dp_word"
    dp_line="${dp_line:+$dp_line }$shq"
  done
  printf '%s\n' "$dp_line"
  log "+ $dp_line (dry run: not run)"
  changes=$((changes + 1))
}

# shq WORD: sets shq to WORD as sh reads it back: as it is when sh takes each of its characters literally, else
# in single quotes, each ' written '\''.
shq() {
  case $1 in
    '' | *[!A-Za-z0-9_./:=,@%+-]*) ;;
    *)
      shq=$1
      return
      ;;
  esac
  sq_rest=$1
  shq="'"
  while :; do
    case $sq_rest in
      *\'*)
        shq="$shq${sq_rest%%\'*}'\\''"
        sq_rest=${sq_rest#*\'}
        ;;
      *)
        shq="$shq$sq_rest'"
        return
        ;;
    esac
  done
}

# query VAR 'FIELD...' CMD...: runs an esxcli command with --formatter=csv and stores the named fields of every
# row in VAR: one row a line, its fields separated by $SEP. Columns are found by header name (case, spaces and
# punctuation ignored), never by position; a field may name alternatives: `DHCPv6Enabled|DHCPv6`. A value is
# stored exactly as esxcli printed it, its CSV quoting undone and nothing trimmed; an empty cell is an empty
# field. A field marked `[]` is a list, which esxcli prints as one cell holding a CSV line of items, each
# followed by a comma: its items are stored separated by $ISEP. esxcli writes a line break inside a value as
# `\n` and prints no control characters, so neither separator can occur in a value.
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
  q_rows=$(printf '%s\n' "$q_out" | W="$q_fields" S="$SEP" I="$ISEP" awk '
    function split_csv(line, cell,   n, i, c, f, quoted) {
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
    function items(v,   n, i, out) {
      if (v == "") return ""
      n = split_csv(v, item)
      if (item[n] == "") n--
      out = ""
      for (i = 1; i <= n; i++) out = out (i > 1 ? ENVIRON["I"] : "") item[i]
      return out
    }
    function key(s) { s = tolower(s); gsub(/[^a-z0-9]/, "", s); return s }
    BEGIN { nw = split(ENVIRON["W"], want, " ") }
    /^\r?$/ { next }
    !header { n = split_csv($0, cell); for (i = 1; i <= n; i++) col[key(cell[i])] = i; header = 1; next }
    {
      n = split_csv($0, cell); row = ""
      for (j = 1; j <= nw; j++) {
        w = want[j]; list = sub(/\[\]$/, "", w)
        na = split(w, alt, "|"); v = ""
        for (a = 1; a <= na; a++) { k = key(alt[a]); if (k in col && col[k] <= n) { v = cell[col[k]]; break } }
        if (list) v = items(v)
        row = row (j > 1 ? ENVIRON["S"] : "") v
      }
      print row
    }')
  eval "$q_var=\$q_rows"
}

# get TABLE KEY N: field N of the first row of TABLE whose first field is KEY.
get() { printf '%s\n' "$1" | K="$2" awk -F "$SEP" -v n="$3" '$1 == ENVIRON["K"] { print $n; exit }'; }
# has TABLE KEY: whether TABLE has a row whose first field is KEY.
has() { printf '%s\n' "$1" | K="$2" awk -F "$SEP" '$1 == ENVIRON["K"] { found = 1; exit } END { exit !found }'; }
# nth TABLE N: field N of the first row of TABLE.
nth() { printf '%s\n' "$1" | awk -F "$SEP" -v n="$2" 'NR == 1 { print $n; exit }'; }
# inlist LIST ITEM: whether the $ISEP separated LIST holds ITEM.
inlist() { case "$ISEP$1$ISEP" in *"$ISEP$2$ISEP"*) return 0 ;; esac; return 1; }
# items LIST: the items of a $ISEP separated LIST, one a line.
items() { [ -z "$1" ] || printf '%s\n' "$1" | tr "$ISEP" '\n'; }
# commas LIST: a $ISEP separated LIST written as esxcli takes a list, with commas.
commas() { printf '%s' "$1" | tr "$ISEP" ','; }
# mark VAR ITEM: adds ITEM as a line to variable VAR; marked LINES ITEM: whether ITEM is one of the lines of LINES.
mark() { eval "$1=\"\$$1\$2\$NL\""; }
marked() { case "$NL$1" in *"$NL$2$NL"*) return 0 ;; esac; return 1; }
lower() { printf '%s' "$1" | tr 'A-Z' 'a-z'; }
# nic_by_mac MAC: the vmnic with that MAC (any case).
nic_by_mac() { printf '%s\n' "$NICS" | M="$1" awk -F "$SEP" 'tolower($2) == tolower(ENVIRON["M"]) { print $1; exit }'; }
# prefix_of NETMASK: the prefix length of a dotted IPv4 netmask.
prefix_of() {
  printf '%s\n' "$1" | awk -F . '{ n = 0; for (i = 1; i <= 4; i++) { v = $i; while (v > 0) { n += v % 2; v = int(v / 2) } } print n }'
}
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

# finish: the summary, and the exit status: 1 if any command failed (in a dry run: if a read failed, or the
# run found what makes a real run fail, such as a NIC or a disk the host does not have).
finish() {
  if [ -n "$dry" ]; then
    if [ "$failures" -gt 0 ]; then
      say "dry run, nothing changed: $failures failure(s), $changes change(s) printed:$failed"
      exit 1
    fi
    if [ "$changes" -eq 0 ]; then
      say "dry run: nothing to change"
    else
      say "dry run, nothing changed: a real run would make the $changes change(s) printed"
    fi
    exit 0
  fi
  if [ "$failures" -gt 0 ]; then
    say "$failures command(s) failed, $changes change(s) made:$failed"
    exit 1
  fi
  say "host configured: $changes change(s)"
  exit 0
}
