# ~/.ssh/agent-runtime.conf on a lead's or senior's own server: the servers they may
# reach, by address, with pinned host keys where known, using their hop key.
# Vars: AR_USER, AR_HOSTS (lines: "name address port [hostkey]")
AR_STEP="hop config $AR_USER"

home=$(getent passwd "$AR_USER" | cut -d: -f6)
[[ -n $home ]] || die "$AR_USER does not exist on this server"
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
echo "hop config for $AR_USER: $(grep -c '^Host ' "$home/.ssh/agent-runtime.conf") servers"
