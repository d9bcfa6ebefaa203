# A lead's or senior's hop key, generated on their own server: the private key never
# leaves it and never enters Pulumi state; only the public key (printed last) does.
# ~/.ssh/agent-runtime.conf names the servers they may reach, by address, with pinned
# host keys where known. Vars: AR_USER, AR_HOSTS (lines: "name address port [hostkey]")
AR_STEP="hop $AR_USER"

home=$(getent passwd "$AR_USER" | cut -d: -f6)
[[ -n $home ]] || die "$AR_USER does not exist on this server"
key=$home/.ssh/agent-runtime-hop
if [[ ! -f $key ]]; then
  runuser -u "$AR_USER" -- ssh-keygen -q -t ed25519 -N '' -C "$AR_USER@$(hostname) agent-runtime hop" -f "$key"
  log "generated $key"
fi
conf=""
known=""
while read -r name address port hostkey; do
  [[ -n $name ]] || continue
  conf+="Host $name"$'\n'"    HostName $address"$'\n'"    Port $port"$'\n'"    User $AR_USER"$'\n'
  conf+="    IdentityFile ~/.ssh/agent-runtime-hop"$'\n'"    IdentitiesOnly yes"$'\n'
  conf+="    ForwardAgent no"$'\n'"    UserKnownHostsFile ~/.ssh/agent-runtime_known_hosts"$'\n'
  if [[ -n ${hostkey:-} ]]; then
    if [[ $port == 22 ]]; then known+="$address $hostkey"$'\n'; else known+="[$address]:$port $hostkey"$'\n'; fi
    conf+="    StrictHostKeyChecking yes"$'\n'
  else
    conf+="    StrictHostKeyChecking accept-new"$'\n'
  fi
done <<<"$AR_HOSTS"
printf '# Managed by agent-runtime: servers %s may reach.\n%s' "$AR_USER" "$conf" |
  install_file "$home/.ssh/agent-runtime.conf" 0600 "$AR_USER:$AR_USER"
printf '%s' "$known" | install_file "$home/.ssh/agent-runtime_known_hosts" 0600 "$AR_USER:$AR_USER"
touch "$home/.ssh/config"
chown "$AR_USER:$AR_USER" "$home/.ssh/config"
chmod 0600 "$home/.ssh/config"
if ! grep -qx 'Include ~/.ssh/agent-runtime.conf' "$home/.ssh/config"; then
  # Include must come first: ssh, like sshd, keeps the first value it reads.
  { echo 'Include ~/.ssh/agent-runtime.conf'; cat "$home/.ssh/config"; } | install_file "$home/.ssh/config" 0600 "$AR_USER:$AR_USER"
fi
cut -d' ' -f1,2 "$key.pub" | sed "s|\$| $AR_USER-hop@$(hostname)|"
