# The steps from MAAS's vendor-data: NTP and files (vendor-data), and the vCenter registration it may ask
# for (vcenter). maas-vendor reads vendor-data and says what it asks for; maas-vcenter talks to vCenter;
# every change to the host is made here, through `run`.
VENDOR=$BUNDLE/maas-vendor
VCENTER=$BUNDLE/maas-vcenter
# MAAS's vCenter settings, a file of its vendor-data.
VC_SETTINGS=$BUNDLE/vcenter.yaml
# The local account vCenter connects with to add the host, with a random password; removed once the host
# is connected (vCenter has made its own vpxuser by then), and before a new one is made.
VC_USER=maas-vcenter

# vendor-data: NTP servers and pools, and the files of write_files; the keys that are for Ubuntu are
# listed once as not applicable.
vendor_data_step() {
  needs_maas vendor-data || return 0
  v_file=$BUNDLE/vendor-data
  if ! md get latest/meta-data/vendor-data --output="$v_file"; then
    fail "could not fetch vendor-data from MAAS"
    return 1
  fi
  v_plan=$(python3 "$VENDOR" plan "$v_file" 2>>"$LOG")
  v_status=$?
  v_ntp=''
  while IFS="$SEP" read -r v_kind v_a v_b; do
    case $v_kind in
      note) say "vendor-data: $v_a" ;;
      fail) fail "vendor-data: $v_a" ;;
      ntp) v_ntp="$v_ntp$v_a$NL" ;;
      file) run python3 "$VENDOR" write "$v_file" "$v_a" "$v_b" </dev/null ;;
    esac
  done <<V_EOF
$v_plan
V_EOF
  # The download may hold secrets: vCenter's password, the machine's token (Ubuntu's hardware sync).
  rm -f "$v_file"
  if [ "$v_status" -ne 0 ]; then
    fail "could not read MAAS's vendor-data, see $LOG"
    return 1
  fi
  [ -z "$v_ntp" ] || ntp_configure "$v_ntp"
}

# ntp_configure SERVERS: ESXi's NTP client on SERVERS (one a line), started and starting with the host,
# and the ntpClient firewall ruleset on. ESXi 7.0 Update 1 and later have `esxcli system ntp`; older
# releases read /etc/ntp.conf, which the ntpd init script starts ntpd with and chkconfig starts at boot.
ntp_configure() {
  query N_VERSION 'Version' esxcli --formatter=csv system version get || return 1
  n_version=$(nth "$N_VERSION" 1)
  if printf '%s\n' "$n_version" | awk -F . '{ exit !($1 > 7 || ($1 == 7 && ($2 > 0 || $3 >= 1))) }'; then
    ntp_esxcli "$1"
  else
    say "ntp: ESXi $n_version has no esxcli system ntp: servers go into /etc/ntp.conf"
    ntp_conf "$1"
  fi
  query N_FW 'Name Enabled' esxcli --formatter=csv network firewall ruleset list --ruleset-id=ntpClient || return 1
  [ "$(nth "$N_FW" 2)" = true ] || run esxcli network firewall ruleset set --ruleset-id=ntpClient --enabled=true
}

ntp_esxcli() {
  n_list=$1
  query N_STATE 'Enabled Servers[]' esxcli --formatter=csv system ntp get || return 1
  n_want=$(printf '%s' "$n_list" | awk -v s="$ISEP" 'NF { printf "%s%s", (n++ ? s : ""), $0 }')
  if [ "$(nth "$N_STATE" 1)" = true ] && [ "$(nth "$N_STATE" 2)" = "$n_want" ]; then
    say "ntp: already on, with $(commas "$n_want")"
    return 0
  fi
  set --
  while IFS= read -r n_server; do
    [ -z "$n_server" ] || set -- "$@" --server="$n_server"
  done <<N_EOF
$n_list
N_EOF
  run esxcli system ntp set "$@" --enabled=true
}

ntp_conf() {
  n_conf=$MAAS_ESXI_ROOT/etc/ntp.conf
  n_init=$MAAS_ESXI_ROOT/etc/init.d/ntpd
  # The file as it is, without its servers, pools and peers; ESXi's defaults when there is none.
  if [ -f "$n_conf" ]; then
    n_new=$(awk '$1 != "server" && $1 != "pool" && $1 != "peer"' "$n_conf")
  else
    n_new="restrict default kod nomodify notrap nopeer${NL}restrict 127.0.0.1${NL}driftfile /etc/ntp.drift"
  fi
  n_new="$n_new$NL$(printf '%s' "$1" | awk 'NF { print "server " $0 }')"
  n_restart=''
  if [ ! -f "$n_conf" ] || [ "$(cat "$n_conf")" != "$n_new" ]; then
    if ! printf '%s\n' "$n_new" >"$BUNDLE/ntp.conf"; then
      fail "could not write $BUNDLE/ntp.conf"
      return 1
    fi
    # cp, not mv: the file keeps its mode and sticky bit, which make ESXi keep it across reboots.
    run cp "$BUNDLE/ntp.conf" "$n_conf" || return 1
    rm -f "$BUNDLE/ntp.conf"
    n_restart=1
  fi
  log "+ chkconfig --list ntpd"
  case $(chkconfig --list ntpd 2>>"$LOG") in
    *on) ;;
    *) run chkconfig ntpd on ;;
  esac
  if [ -z "$n_restart" ] && "$n_init" status >/dev/null 2>&1; then
    say "ntp: ntpd already runs with these servers"
    return 0
  fi
  run "$n_init" restart
}

# vcenter: adds the host to vCenter when MAAS sent vCenter settings, through a temporary local account
# with the Admin role and HTTPS out through the httpClient ruleset to vCenter's addresses only, both
# undone afterwards. Not after a failed fatal step: a host MAAS failed is not one to hand to vCenter.
vcenter_step() {
  if [ ! -f "$VC_SETTINGS" ]; then
    say "vcenter: MAAS sent no vCenter settings, the host is not registered"
    return 0
  fi
  if [ -n "$fatal_step" ]; then
    say "vcenter: skipped, step $fatal_step failed"
    return 0
  fi
  c_status=0
  vcenter_register || c_status=1
  # It holds vCenter's password; a run by hand fetches vendor-data again.
  rm -f "$VC_SETTINGS"
  return $c_status
}

vcenter_register() {
  c_about=$(python3 "$VCENTER" --settings="$VC_SETTINGS" settings 2>>"$LOG")
  case $? in
    0) say "vcenter: $c_about" ;;
    3)
      say "vcenter: not registered: $c_about"
      return 0
      ;;
    *)
      fail "vcenter: could not read the vCenter settings, see $LOG"
      return 1
      ;;
  esac
  if ! c_addrs=$(python3 "$VCENTER" --settings="$VC_SETTINGS" addresses 2>>"$LOG"); then
    fail "vcenter: could not find vCenter's address, see $LOG"
    return 1
  fi
  vcenter_names || return 1
  c_ok=1
  if firewall_open httpClient "$c_addrs"; then
    vcenter_join && c_ok=0
  fi
  firewall_restore httpClient
  return $c_ok
}

# vcenter_names: the names vCenter may reach the host by, in the order they are tried: its FQDN, then the
# addresses of its VMkernel NICs (IPv4, then IPv6 but link-local), one a line in c_names.
vcenter_names() {
  query C_HOST 'FullyQualifiedDomainName' esxcli --formatter=csv system hostname get || return 1
  query C_V4 'Name IPv4Address' esxcli --formatter=csv network ip interface ipv4 get || return 1
  query C_V6 'Interface Address' esxcli --formatter=csv network ip interface ipv6 address list || return 1
  c_names=$(
    {
      nth "$C_HOST" 1 | awk 'NF && $0 !~ /^localhost(\.|$)/'
      printf '%s\n' "$C_V4" | awk -F "$SEP" '$2 != "" && $2 != "0.0.0.0" { print $2 }'
      printf '%s\n' "$C_V6" | awk -F "$SEP" '$2 != "" && $2 != "::1" && tolower($2) !~ /^fe80:/ { print $2 }'
    } | awk '!seen[$0]++'
  )
  if [ -z "$c_names" ]; then
    fail "vcenter: the host has neither a name nor an address vCenter could reach it by"
    return 1
  fi
}

vcenter_join() {
  vcenter_account_remove || return 1
  if ! c_password=$(python3 "$VCENTER" password); then
    fail "vcenter: could not make a password for the temporary account"
    return 1
  fi
  MASK=$c_password
  c_joined=1
  if run esxcli system account add --id="$VC_USER" --password="$c_password" --password-confirmation="$c_password" --description='maas-esxi: for vCenter to add the host, removed once it has' &&
    run esxcli system permission set --id="$VC_USER" --role=Admin; then
    set --
    while IFS= read -r c_name; do
      set -- "$@" --hostname="$c_name"
    done <<C_EOF
$c_names
C_EOF
    run python3 "$VCENTER" --settings="$VC_SETTINGS" register --user="$VC_USER" --certificate="$MAAS_ESXI_ROOT/etc/vmware/ssl/rui.crt" "$@" <<C_EOF && c_joined=0
$c_password
C_EOF
  fi
  vcenter_account_remove || c_joined=1
  MASK=''
  c_password=''
  return $c_joined
}

# vcenter_account_remove: removes the temporary account and its permission, if they are there.
vcenter_account_remove() {
  query C_ACCOUNTS 'UserID' esxcli --formatter=csv system account list || return 1
  has "$C_ACCOUNTS" "$VC_USER" || return 0
  query C_PERMISSIONS 'Principal' esxcli --formatter=csv system permission list || return 1
  if has "$C_PERMISSIONS" "$VC_USER"; then
    run esxcli system permission unset --id="$VC_USER" || return 1
  fi
  run esxcli system account remove --id="$VC_USER"
}
