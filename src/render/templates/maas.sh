# Steps and MAAS: the bundle the deployment left in the altbootbank, the metadata helper, status events,
# the firewall openings (towards MAAS, and towards vCenter for its step), and `step`, which runs one part
# of the first boot and reports it.
BUNDLE=$MAAS_ESXI_ROOT/altbootbank/maas
CREDENTIALS=$BUNDLE/credentials
# Set when the credentials are there: this run reports to MAAS and asks it for keys, hostname, user-data.
maas=''
# The first step whose failure failed the deployment.
fatal_step=''

# md ARGS...: runs the metadata helper; its answer on stdout, its messages appended to the log. The secrets
# stay in the credentials file: only its path is on the command line.
md() {
  log "+ maas-md $*"
  python3 "$BUNDLE/maas-md" --credentials "$CREDENTIALS" "$@" 2>>"$LOG"
}

# event TYPE NAME DESCRIPTION [RESULT]: a status event for the machine's event log in MAAS. A NAME without a
# slash stands for the whole first boot: a failed `finish` of it fails the deployment at once.
event() {
  [ -n "$maas" ] || return 0
  md event "$1" "$2" "$3" "${4:-}" >/dev/null || say "could not report '$1 $2' to MAAS"
}

# needs_maas STEP: whether MAAS can be asked; says why the step is skipped when it cannot.
needs_maas() {
  [ -n "$maas" ] && return 0
  say "$1: skipped, no MAAS credentials"
  return 1
}

# step NAME KIND FUNCTION: runs FUNCTION as the step NAME: logged, and reported to MAAS as start and finish
# events of maas-esxi/NAME. The step fails when FUNCTION returns non-zero or a command in it failed. KIND
# says what a failure means:
#   fatal     the deployment failed: MAAS is told at once (a failed top-level finish), the run goes on;
#   optional  only the step is reported failed;
#   final     runs only if no fatal step failed, and its failure is fatal.
# A dry run runs only the parts (FUNCTION named *_part): they change the host only through `run`, and where
# they read the host again after a change, they correct what they read with the change a dry run did not
# make. Every other step asks MAAS or writes files, and a dry run skips it.
step() {
  s_name=$1
  s_kind=$2
  if [ -n "$dry" ]; then
    case $3 in
      *_part) ;;
      *)
        say "step $s_name: skipped in a dry run"
        return 0
        ;;
    esac
  fi
  if [ "$s_kind" = final ] && [ -n "$fatal_step" ]; then
    say "step $s_name: skipped, step $fatal_step failed"
    return 0
  fi
  say "step $s_name"
  event start "maas-esxi/$s_name" "ESXi first boot: $s_name"
  s_failures=$failures
  "$3"
  s_status=$?
  if [ "$s_status" -eq 0 ] && [ "$failures" -eq "$s_failures" ]; then
    event finish "maas-esxi/$s_name" "ESXi first boot: $s_name done" SUCCESS
    return 0
  fi
  [ "$failures" -gt "$s_failures" ] || fail "step $s_name failed"
  event finish "maas-esxi/$s_name" "ESXi first boot: $s_name failed, see $LOG on the host" FAIL
  if [ "$s_kind" != optional ] && [ -z "$fatal_step" ]; then
    fatal_step=$s_name
    event finish maas-esxi "ESXi first boot failed at step $s_name, see $LOG on the host" FAIL
  fi
  return 1
}

# maas_begin: finds the credentials, opens the firewall towards MAAS and reports the start. A dry run does
# none of it: without `maas`, nothing is reported and the bundle stays.
maas_begin() {
  if [ -n "$dry" ]; then
    say "dry run: the host is read, not changed; the changes a real run would make are printed on stdout, and the steps that need MAAS are skipped"
    return 0
  fi
  if [ ! -f "$CREDENTIALS" ]; then
    say "no MAAS credentials in $CREDENTIALS: nothing is reported to MAAS, the steps that need it are skipped"
    return 0
  fi
  maas=1
  if fw_addrs=$(md address); then
    firewall_open "$FW" "$fw_addrs"
  else
    fail "could not find the address of MAAS's metadata service"
  fi
  event start maas-esxi "ESXi first boot"
}

# maas_end: reports the end, restores the firewall, and removes the bundle with the credentials if
# nothing failed; after a failure it stays for a run by hand.
maas_end() {
  [ -n "$maas" ] || return 0
  if [ "$failures" -eq 0 ]; then
    event finish maas-esxi "ESXi first boot done" SUCCESS
  elif [ -z "$fatal_step" ]; then
    event finish maas-esxi "ESXi first boot done with $failures failure(s), see $LOG on the host" FAIL
  fi
  firewall_restore "$FW"
  if [ "$failures" -eq 0 ]; then
    run rm -rf "$BUNDLE"
  else
    say "kept $BUNDLE for another run: sh $BUNDLE/firstboot.sh"
  fi
}

# The ESXi firewall lets out only what an enabled ruleset allows, and no ruleset has MAAS's port 5248.
# nfsClient is the one ruleset that opens every outbound TCP port, and only to the addresses in its list:
# MAAS's addresses go into that list for the first boot, and everything is put back afterwards.
FW=nfsClient

# firewall_open RULESET ADDRESSES: lets the host out through RULESET to ADDRESSES (one a line); a ruleset
# that was off lets it out to those only. What it changed is kept for firewall_restore RULESET, which puts
# it back: it enabled the ruleset, turned its allow-all off, added these addresses.
firewall_open() {
  fw_enabled=''
  fw_all=''
  fw_added=''
  fw_change "$1" "$2"
  fw_status=$?
  eval "fw_enabled_$1=\$fw_enabled fw_all_$1=\$fw_all fw_added_$1=\$fw_added"
  return $fw_status
}

fw_change() {
  query FW_STATE 'Name Enabled' esxcli --formatter=csv network firewall ruleset list --ruleset-id="$1" || return 1
  query FW_IPS 'Ruleset AllowedIPAddresses[]' esxcli --formatter=csv network firewall ruleset allowedip list --ruleset-id="$1" || return 1
  fw_on=$(get "$FW_STATE" "$1" 2)
  fw_list=$(get "$FW_IPS" "$1" 2)
  if [ "$fw_on" = true ] && [ "$fw_list" = All ]; then
    return 0
  fi
  if [ "$fw_list" = All ]; then
    run esxcli network firewall ruleset set --ruleset-id="$1" --allowed-all=false || return 1
    fw_all=1
    fw_list=''
  fi
  while IFS= read -r fw_ip; do
    [ -n "$fw_ip" ] || continue
    inlist "$fw_list" "$fw_ip" && continue
    run esxcli network firewall ruleset allowedip add --ruleset-id="$1" --ip-address="$fw_ip" &&
      fw_added="$fw_added$fw_ip$NL"
  done <<FW_EOF
$2
FW_EOF
  if [ "$fw_on" != true ]; then
    run esxcli network firewall ruleset set --ruleset-id="$1" --enabled=true && fw_enabled=1
  fi
}

firewall_restore() {
  eval "fw_enabled=\${fw_enabled_$1:-} fw_all=\${fw_all_$1:-} fw_added=\${fw_added_$1:-}"
  eval "fw_enabled_$1='' fw_all_$1='' fw_added_$1=''"
  [ -z "$fw_enabled" ] || run esxcli network firewall ruleset set --ruleset-id="$1" --enabled=false
  while IFS= read -r fw_ip; do
    [ -z "$fw_ip" ] || run esxcli network firewall ruleset allowedip remove --ruleset-id="$1" --ip-address="$fw_ip"
  done <<FW_EOF
$fw_added
FW_EOF
  [ -z "$fw_all" ] || run esxcli network firewall ruleset set --ruleset-id="$1" --allowed-all=true
}
