# The host steps: what MAAS keeps for the machine besides its network and storage. Each is a function run
# by `step`; it returns non-zero, or records a failure with `fail`, when it did not do its job.

# SSH keys: the machine owner's keys in MAAS, added to root's authorized keys. Keys already there stay,
# and none is added twice.
ssh_keys_step() {
  needs_maas ssh-keys || return 0
  if ! k_new=$(md get latest/meta-data/public-keys); then
    fail "could not fetch the SSH keys from MAAS"
    return 1
  fi
  k_file=$MAAS_ESXI_ROOT/etc/ssh/keys-root/authorized_keys
  k_add=$(printf '%s\n' "$k_new" | F="$k_file" awk '
    BEGIN { while ((getline line < ENVIRON["F"]) > 0) seen[line] = 1 }
    { sub(/\r$/, "") }
    NF && !seen[$0]++')
  if [ -z "$k_add" ]; then
    say "ssh-keys: root has every key MAAS holds"
    return 0
  fi
  log "+ adding $(printf '%s\n' "$k_add" | wc -l | tr -d ' ') key(s) to $k_file"
  if ! mkdir -p "${k_file%/*}"; then
    fail "could not create ${k_file%/*}"
    return 1
  fi
  # A file that does not end with a newline gets one first, so the first new key starts a line.
  if [ -s "$k_file" ] && [ -n "$(tail -c 1 "$k_file")" ]; then
    k_add="$NL$k_add"
  fi
  if ! (umask 077 && printf '%s\n' "$k_add" >>"$k_file"); then
    fail "could not write $k_file"
    return 1
  fi
  changes=$((changes + 1))
}

# Hostname: the machine's FQDN in MAAS.
hostname_step() {
  needs_maas hostname || return 0
  if ! h_fqdn=$(md get latest/meta-data/local-hostname); then
    fail "could not fetch the hostname from MAAS"
    return 1
  fi
  h_fqdn=$(printf '%s' "$h_fqdn" | tr -d ' \t\r\n')
  if [ -z "$h_fqdn" ]; then
    fail "MAAS sent an empty hostname"
    return 1
  fi
  query HOSTINFO 'FullyQualifiedDomainName' esxcli --formatter=csv system hostname get || return 1
  if [ "$(lower "$HOSTINFO")" = "$(lower "$h_fqdn")" ]; then
    say "hostname: already $h_fqdn"
    return 0
  fi
  run esxcli system hostname set --fqdn="$h_fqdn"
}

# user-data, last: fetching it is what marks the machine Deployed in MAAS. It is saved, and run when it
# starts with a #! line whose interpreter is on the host (as cloud-init runs a user-data script).
user_data_step() {
  needs_maas user-data || return 0
  u_file=$MAAS_ESXI_ROOT/var/lib/maas-esxi/user-data
  if ! mkdir -p "${u_file%/*}" || ! md get latest/user-data --output="$u_file"; then
    fail "could not fetch user-data from MAAS"
    return 1
  fi
  if [ ! -s "$u_file" ]; then
    say "user-data: none"
    return 0
  fi
  u_line=$(head -n 1 "$u_file" | tr -d '\r')
  case $u_line in
    '#!'*) ;;
    *)
      say "user-data: saved in $u_file, not run: it does not start with #!"
      return 0
      ;;
  esac
  # The interpreter and its one optional argument, split as the kernel splits a #! line.
  u_line=$(printf '%s' "${u_line#??}" | sed 's/^[ 	]*//; s/[ 	]*$//')
  u_interp=${u_line%%[ 	]*}
  u_arg=$(printf '%s' "${u_line#"$u_interp"}" | sed 's/^[ 	]*//')
  if [ ! -x "$u_interp" ]; then
    say "user-data: saved in $u_file, not run: its interpreter $u_interp is not on this host"
    return 0
  fi
  if [ -n "$u_arg" ]; then
    run "$u_interp" "$u_arg" "$u_file"
  else
    run "$u_interp" "$u_file"
  fi
}
